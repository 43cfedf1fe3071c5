"""Deliver a supervisor's daily digest: the text (split cleanly) and, when something is overdue, a chart."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from bot.context import BotContext
from bot.sending import queue_message, queue_photo
from cases.digest import Digest
from cases.digest_chart import render_digest_chart
from cases.digest_render import render_digest_text
from cases.models import Person
from cases.notify import Notice
from cases.rules.schema import Rules


def chart_key(digest: Digest) -> tuple[str, str, str]:
    """What identifies one built digest (and so its chart): area, day and when it was built."""
    return digest.area, digest.day.isoformat(), digest.generated_at.isoformat()


class DigestCharts:
    """Charts rendered ahead, outside any transaction: a chart takes a sixth of a second of CPU, and a
    district's morning digests would otherwise render hundreds of them while holding the write lock.
    Charts are drawn in the reader's language; the ``ahead`` languages are rendered ahead, others on demand."""

    def __init__(self, rules: Rules, ahead: tuple[str, ...] = ("zh",)) -> None:
        self.rules = rules
        self.ahead = ahead
        self._charts: dict[tuple[tuple[str, str, str], str], bytes] = {}

    def prepare(self, digests: Iterable[Digest]) -> None:
        """Render the chart of each digest that will carry one; forget those of earlier runs."""
        self._charts = {(chart_key(d), lang): render_digest_chart(d, self.rules, lang)
                        for d in digests if not d.all_clear for lang in self.ahead}

    def chart(self, digest: Digest, lang: str) -> bytes:
        """The chart rendered ahead for ``digest`` in ``lang``, else rendered now."""
        chart = self._charts.get((chart_key(digest), lang))
        return chart if chart is not None else render_digest_chart(digest, self.rules, lang)


def send_digest(session: Session, ctx: BotContext, person: Person, notice: Notice, *, now: datetime,
                charts: DigestCharts | None = None) -> None:
    """Queue the digest in the person's language; the chart goes along when there is something to show."""
    digest = Digest.from_dict(notice.data["digest"])
    key = f"digest:{person.id}:{notice.data.get('sent_for', digest.day.isoformat())}"
    chunks = render_digest_text(digest, ctx.rules, person.language)
    for index, chunk in enumerate(chunks):
        queue_message(session, chat_id=person.telegram_id, text=chunk, purpose="digest",
                      dedupe_key=f"{key}:{index}", now=now)
    if not digest.all_clear:
        caption = ctx.rules.area_name(digest.area, person.language) + f" · {digest.day.isoformat()}"
        chart = (charts or DigestCharts(ctx.rules)).chart(digest, person.language)
        queue_photo(session, chat_id=person.telegram_id, photo=chart, caption=caption,
                    purpose="digest", dedupe_key=f"{key}:chart", now=now)
