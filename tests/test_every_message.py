"""Every kind of message a person reads, rendered in Chinese and English: no untranslated English word inside
Chinese text, and no Python value (``None``, a list, a dict, a datetime) anywhere.

It renders through the real renderers (catalogue templates, ticket cards and history with every event kind,
escalation notices, the digest, durations), with the bundled district's names, so a new text or a new event
kind that skips the catalogue fails here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from text_checks import check

from bot.context import BotContext
from bot.dispatching import Again, card_values
from bot.render import age_text, event_label, event_line, role_label, ticket_details
from bot.texts import CATALOGUE, LANGS, placeholders, t
from cases.digest import Digest, GridRow, OverdueTicket, TrendPoint
from cases.digest_render import _TEXT as DIGEST_TEXT
from cases.digest_render import digest_lines
from cases.durations import format_duration
from cases.models import Person, Status, Ticket, TicketEvent
from cases.rules.loader import load_rules
from cases.rules.schema import Rules
from cases.states import Action

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)

BILINGUAL = {"lang_pick"}
"""Texts written in both languages on purpose (the language picker is read before a language is chosen)."""


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(ROOT / "routing_rules.yaml")


# ---- every event kind the code can record has words -----------------------------------------------------------

def _recorded_kinds() -> set[str]:
    """Event kinds written anywhere in cases/: every Action plus the literal kinds of events."""
    kinds = {a.value for a in Action}
    for source in (ROOT / "cases").rglob("*.py"):
        code = source.read_text(encoding="utf-8")
        kinds |= {kind for line in code.splitlines() if "argsort" not in line  # numpy's sort kind, not an event
                  for kind in re.findall(r'kind="([a-z_]+)"', line)}
        kinds |= set(re.findall(r'kind="[a-z_]+" if [^\n]* else "([a-z_]+)"', code))
        kinds |= set(re.findall(r'\.record\(state, "([a-z_]+)"', code))
        for first, other in re.findall(r'"kind": "([a-z_]+)"(?: if [^\n]* else "([a-z_]+)")?', code):  # Core inserts
            kinds |= {first, other} - {""}
    return kinds


def test_every_recorded_event_kind_has_words() -> None:
    kinds = _recorded_kinds()
    assert {"opened", "drafted", "merged_in", "escalated", "paused", "claim"} <= kinds
    missing = sorted(k for k in kinds if f"event_{k}" not in CATALOGUE)
    assert not missing, f"event kinds without words in the catalogue: {missing}"


# ---- catalogue templates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_catalogue_text_is_in_its_language(key: str) -> None:
    for lang in LANGS:
        template = CATALOGUE[key][lang]
        values = {name: "〔值〕" for name in placeholders(template)}
        check(t(key, lang, **values), "both" if key in BILINGUAL else lang, key)


# ---- cards, history, notices ---------------------------------------------------------------------------------

def _ticket(rules: Rules) -> Ticket:
    grid = rules.grids[0]
    explanation = {"explanation": {"location": {"source": "place", "grid": grid,
                                                "place": {"keyword": "金鹗小区5栋", "score": 100.0}}},
                   "explanation_text": "category: other"}
    return Ticket(id=7, status="claimed", category="water", priority="urgent", area=grid, target=f"grid:{grid}",
                  reporter_id=1, chat_id=1, source_message_id=1, text="水管爆了", lat=29.353, lon=113.104,
                  created_at=NOW - timedelta(days=5, hours=3), updated_at=NOW,
                  claim_by=NOW - timedelta(days=5), resolve_by=NOW - timedelta(days=3, hours=12, minutes=43),
                  explanation=explanation, reopen_count=1, escalation_level=2)


def _events() -> list[TicketEvent]:
    """One event of every kind the catalogue knows, with status moves (the first from no status at all)."""
    kinds = sorted(key.removeprefix("event_") for key in CATALOGUE
                   if key.startswith("event_") and key not in {"event_move", "event_line", "event_note_suffix"})
    statuses = [s.value for s in Status]
    return [TicketEvent(ticket_id=7, at=NOW - timedelta(hours=i), kind=kind,
                        from_status=None if i == 0 else statuses[i % len(statuses)],
                        to_status=statuses[(i + 1) % len(statuses)], note="已关阀" if i % 2 else None)
            for i, kind in enumerate(kinds)] + [TicketEvent(ticket_id=7, at=NOW, kind="a_kind_from_the_future")]


@pytest.mark.parametrize("lang", LANGS)
def test_ticket_card_and_history_with_every_event_kind(rules: Rules, lang: str) -> None:
    ticket = _ticket(rules)
    events = _events()
    text = ticket_details(rules, ticket, lang, reporter=Person(id=1, telegram_id=1, name="陈阿姨"),
                          holder=Person(id=2, telegram_id=2, name="王师傅"), events=events, show_reporter=True)
    # the routing reason (派单依据 / Routing) is the routing engine's own explanation, checked there
    readable = "\n".join(line for line in text.splitlines() if not line.startswith(("派单依据", "Routing")))
    check(readable, lang, "ticket card")
    first = event_line(rules, events[0], lang)
    assert "None" not in first and "→" not in first, "an event with no status before it shows no move"
    assert event_label("merged_in", "zh") == "并入重复工单"
    assert event_label("a_kind_from_the_future", lang) == t("event_other", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_worker_card_and_escalation_notice(rules: Rules, lang: str) -> None:
    ctx = BotContext.create(rules, secret="s")
    ticket = _ticket(rules)
    agains = [None, Again("w_headline_reopened"), Again("w_headline_released", {"worker": "王师傅"}),
              Again("w_headline_transferred", {"actor": "张主任", "reason": "不属于本网格"})]
    for again in agains:
        card = t("w_new_ticket", lang, **card_values(ctx, ticket, lang, duplicate=ticket, again=again))
        check(card, lang, "worker card")
        assert "金鹗小区5栋" in card and "29.35300, 113.10400" in card
    notice = t("n_escalated", lang, level=2, number=ticket.number, category=rules.category_name("water", lang),
               area=rules.area_name(rules.grids[0], lang), age=age_text(ticket.created_at, NOW, lang),
               overdue=format_duration(NOW - ticket.resolve_by, lang),  # type: ignore[operator]
               status=t("status_claimed", lang), holder="王师傅",
               history="\n".join(event_line(rules, e, lang) for e in _events()[:5]))
    check(notice, lang, "escalation")
    if lang == "zh":
        assert "受理至今 5天3小时，超时 3天12小时" in notice
    else:
        assert "Age 5d 3h, overdue by 3d 12h" in notice
    for role in ("worker", "leader", "supervisor", "inspector"):
        for scope in ("team:gas-company", *rules.areas):
            check(role_label(rules, role, scope, lang), lang, "role")
    community = next(a for a, area in rules.areas.items() if area.kind == "community")
    assert role_label(rules, "leader", community, "zh") == "社区负责人"
    assert role_label(rules, "leader", rules.grids[0], "zh") == "网格长"


# ---- durations and the digest -------------------------------------------------------------------------------

@pytest.mark.parametrize(("delta", "zh", "en"), [
    (timedelta(days=5, hours=3, minutes=3), "5天3小时", "5d 3h"),
    (timedelta(days=5, minutes=3), "5天", "5d"),
    (timedelta(hours=2, minutes=5), "2小时5分钟", "2h 5m"),
    (timedelta(minutes=40), "40分钟", "40m"),
    (timedelta(seconds=30), "30秒", "30s"),
    (timedelta(0), "0秒", "0s"),
    (-timedelta(hours=1), "-1小时", "-1h"),
])
def test_durations_in_both_languages(delta: timedelta, zh: str, en: str) -> None:
    assert (format_duration(delta, "zh"), format_duration(delta, "en")) == (zh, en)


@pytest.mark.parametrize("lang", LANGS)
def test_digest_text(rules: Rules, lang: str) -> None:
    grid = rules.grids[0]
    digest = Digest(
        area=rules.root, kind="district", day=date(2026, 3, 5), generated_at=NOW, new=3, closed=2, open=4,
        overdue=2, status="red", closed_7d=2, on_time_7d=1, on_time_rate_7d=0.5, closed_30d=3, on_time_30d=2,
        on_time_rate_30d=2 / 3, reworked_30d=1, rework_rate_30d=1 / 3, median_claim_seconds=2400,
        median_resolve_seconds=90000, holidays_missing=[2027],
        grids=[GridRow(grid=grid, open=2, overdue=2, max_level=2, status="red"),
               GridRow(grid=rules.grids[1], open=1, status="green")],
        overdue_tickets=[OverdueTicket(id=2, number="#2", category="water", area=grid, target=f"grid:{grid}",
                                       status="claimed", age_seconds=5 * 86400 + 180, overdue_seconds=3 * 86400,
                                       holder_id=None, holder_name=None, level=2)],
        trend=[TrendPoint(day=date(2026, 3, 5), new=1)],
    )
    text = "\n".join(digest_lines(digest, rules, lang))
    check(text, lang, "digest")
    if lang == "zh":
        assert "中位数 40分钟" in text and "历时 5天" in text and "已 5天" not in text
    for key in DIGEST_TEXT[lang]:
        check(re.sub(r"\{\w*\}", "", DIGEST_TEXT[lang][key]), lang, f"digest {key}")


# ---- one word, one meaning ----------------------------------------------------------------------------------

SAYS_FILED = {"ticket_opened", "n_escalated", "event_opened"}
"""受理 means the report was accepted and filed (the ticket exists) — never that a worker claimed it (认领)."""
SAYS_CLOSED = {"r_confirmed", "w_confirmed", "r_closed_auto", "status_closed", "event_auto_close",
               "event_auto_closed", "event_verify"}
"""办结 means closed for good — never that the worker marked it resolved (处理完毕)."""


def test_shouli_and_banjie_each_keep_one_meaning() -> None:
    for key, entry in CATALOGUE.items():
        if "受理" in entry["zh"]:
            assert key in SAYS_FILED, f"{key} uses 受理 ({entry['zh']!r}); a worker taking it is 认领"
        if "办结" in entry["zh"]:
            assert key in SAYS_CLOSED, f"{key} uses 办结 ({entry['zh']!r}); a worker finishing is 处理完毕"
    for key in ("r_claimed", "r_follow_claimed", "cancel_refused"):
        assert "认领" in CATALOGUE[key]["zh"]
    for key in ("btn_resolve", "ask_resolve_note", "resolved_ok"):
        assert "处理完毕" in CATALOGUE[key]["zh"]
    assert "网格长" not in CATALOGUE["ticket_held"]["zh"], "a held report is reviewed by whichever leader is over it"
