"""The learned router: English stems in a window, danger signals, the classifier with its cache, held-out
split and threshold, the combined decision and its explanation in both languages, and learning from staff
and residents. Models here are trained on a few dozen examples (or the bundled one, cached per session)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.routing_texts import render_explanation
from cases.models import RoutingExample, TicketEvent
from cases.routing import Report, route
from cases.routing.examples import Example, ExampleError, held_out, read_examples, split, write_examples
from cases.routing.keywords import PhraseMatcher, resolve_overlaps
from cases.routing.model import choose_threshold
from cases.routing.model_store import ModelStore, current_model, model_key, retrain, train_for
from cases.rules.schema import Rules
from cases.services import tickets as svc
from cases.services.errors import PermissionDenied
from cases.services.learning import local_examples
from cases.services.triage import set_priority
from cases.textnorm import normalize_mapped
from tests.test_tickets import World, make_world, open_one

LATIN = re.compile(r"[A-Za-z]")

SMALL = [
    Example("water", False, "水管爆了到处是水"), Example("water", False, "the water pipe burst in my kitchen"),
    Example("water", False, "家里停水了"), Example("water", False, "no water from the taps"),
    Example("water", False, "楼上漏水到我家"), Example("water", False, "a leaking pipe under the sink"),
    Example("noise", False, "隔壁装修太吵了"), Example("noise", False, "loud music next door all night"),
    Example("noise", False, "广场舞音响吵死人"), Example("noise", False, "dogs barking all day"),
    Example("noise", False, "半夜还在施工很吵"), Example("noise", False, "neighbours shouting at 3am"),
    Example("gas", True, "厨房有煤气味"), Example("gas", True, "I smell gas in the hallway"),
    Example("gas", True, "燃气管漏气了"), Example("gas", True, "gas leaking from the meter"),
    Example("gas", False, "燃气费怎么交"), Example("gas", False, "when is the gas meter reading"),
    Example("other", False, "你好"), Example("other", False, "thank you"), Example("other", False, "请问几点上班"),
    Example("other", False, "how do I get a permit"), Example("other", False, "谢谢"),
    Example("other", False, "who is my grid worker"),
]


@pytest.fixture(scope="module")
def bundled(rules: Rules):  # type: ignore[no-untyped-def]
    """The model trained on the bundled examples (cached on disk by content hash, once per session)."""
    model = current_model(rules)
    assert model is not None, "the bundled rules name their examples"
    return model


def test_english_phrases_match_as_stems_in_any_order_within_a_window() -> None:
    matcher = PhraseMatcher([("smell of gas", "gas"), ("burst pipe", "water")])
    for text in ("I smell gas in the corridor", "it smelled of gas", "there is a gas smell", "the pipes burst"):
        found = resolve_overlaps(matcher.find(normalize_mapped(text)))
        assert [m.target for m in found] in (["gas"], ["water"]), text
    assert not matcher.find(normalize_mapped("the gas bill is high, and I can smell the bakery next door"))


def test_window_and_split_phrases_sharing_words_are_all_found() -> None:
    """Each window phrase is looked up under its rarest stem and a split phrase only when all its characters
    are present: phrases sharing a common word are still each found, and only where all of them stand."""
    phrases = [("gas smell", "gas"), ("gas meter broken", "gas"), ("meter cupboard open", "power"),
               ("smell of burning", "danger"), ("楼道灯坏", "light"), ("楼道门坏", "door")]
    matcher = PhraseMatcher(phrases)

    def found(text: str) -> set[str]:
        return {m.phrase for m in resolve_overlaps(matcher.find(normalize_mapped(text)))}

    assert found("the meter for the gas is broken") == {"gas meter broken"}
    assert found("open the meter cupboard, there is a smell, gas I think") == {"meter cupboard open", "gas smell"}
    assert found("burning, what a smell") == {"smell of burning"}
    assert found("楼道的灯坏了") == {"楼道灯坏"}
    assert found("楼道的门坏了") == {"楼道门坏"}
    assert found("楼道里很黑") == set()


@pytest.mark.parametrize("text", ["樓道有瓦斯味", "gas is hissing out of the meter", "someone is stuck in the lift "
                                  "and not answering", "flames coming out of a window",
                                  "a live wire is hanging down and sparking", "隔壁老人摔倒了起不来",
                                  "我爸一个人在家电话打不通"])
def test_danger_signals_make_an_emergency_whatever_the_category(text: str, rules: Rules) -> None:
    decision = route(Report(text), rules)  # keywords alone: the signals do not need the classifier
    assert decision.priority == "emergency", decision.explain()
    assert decision.explanation["urgency"]["signals"]


def test_a_routine_report_stays_routine(rules: Rules) -> None:
    decision = route(Report("路灯不亮了 金鹗小区5栋"), rules)
    assert decision.priority == "normal" and not decision.explanation["urgency"]["signals"]


def test_the_gas_smell_in_the_corridor_goes_to_the_gas_company(rules: Rules, bundled) -> None:  # type: ignore[no-untyped-def]
    decision = route(Report("I smell gas in the corridor of building 7"), rules, bundled)
    assert (decision.category, decision.priority, decision.target) == ("gas", "emergency", "team:gas-company")
    category = decision.explanation["category"]
    assert category["decided_by"] == "model" and category["top"][0][0] == "gas"
    assert category["neighbours"] and all(n["similarity"] > 0 for n in category["neighbours"])
    assert any(m["category"] == "gas" for m in category["keywords"])


def test_the_held_out_split_is_fixed_by_the_text() -> None:
    texts = [f"报告第{n}号问题 report {n}" for n in range(2000)]
    share = sum(held_out(t) for t in texts) / len(texts)
    assert 0.17 < share < 0.23
    assert held_out("樓道燈壞了") == held_out("楼道灯坏了")  # by the normalised text
    train, test = split(Example("other", False, t) for t in texts[:50])
    assert {e.text for e in train}.isdisjoint({e.text for e in test})


def test_the_threshold_keeps_confident_mistakes_under_one_in_twenty() -> None:
    outcomes = [(0.99, True)] * 40 + [(0.95, False)] + [(0.9, True)] * 19 + [(0.5, False)] * 10
    threshold = choose_threshold(outcomes)
    confident = [ok for confidence, ok in outcomes if confidence >= threshold]
    assert 1 - sum(confident) / len(confident) < 0.05 and threshold == 0.9


def test_examples_files_round_trip_and_bad_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    assert write_examples(path, [Example("gas", True, "煤气\t味"), Example("other", False, "hi")]) == 2
    assert [(e.category, e.emergency, e.text) for e in read_examples(path)] == [
        ("gas", True, "煤气 味"), ("other", False, "hi")]
    path.write_text("category\temergency\ttext\nbogus\tno\thello\n", encoding="utf-8")
    with pytest.raises(ExampleError, match=r"x.tsv:2: unknown category 'bogus'"):
        read_examples(path, ["gas", "other"])


def test_a_model_is_trained_once_per_content_and_predicts_with_neighbours(rules: Rules, tmp_path: Path) -> None:
    model = train_for(rules, SMALL)
    store = ModelStore(tmp_path)
    store.save(model)
    loaded = store.load(model.key)
    assert loaded is not None and loaded.key == model_key(rules, SMALL)
    assert model_key(rules, SMALL[:-1]) != model.key
    gas = rules.categories["gas"].model_copy(update={"priority": "urgent"})
    calmer = rules.model_copy(update={"categories": {**rules.categories, "gas": gas}})
    assert model_key(calmer, SMALL) != model.key  # the emergency threshold depends on emergency categories
    decision = route(Report("隔壁装修电钻太吵"), rules, loaded)
    assert decision.category == "noise", decision.explain()
    top = decision.explanation["category"]["top"]
    assert top[0][0] == "noise" and all(0 <= p <= 1 for _, p in top)
    assert decision.explanation["category"]["neighbours"][0]["category"] == "noise"


def test_a_worse_retrained_model_is_not_switched_in(rules: Rules, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "examples"
    folder.mkdir()
    write_examples(folder / "small.tsv", SMALL * 3 + [Example(e.category, e.emergency, e.text + " 请处理")
                                                      for e in SMALL] * 2)
    small_rules = rules.model_copy(update={"examples": str(folder)})
    store = ModelStore(tmp_path / "cache")
    current = current_model(small_rules, store)
    assert current is not None
    wrong = [Example("other", False, e.text + " 吧") for e in SMALL if e.category == "noise"] * 3
    result = retrain(small_rules, wrong, store)
    if result.switched:  # only when it really scored no worse
        assert result.candidate["accuracy"] >= result.current["accuracy"]  # type: ignore[operator]
    else:
        assert "would drop" in result.reason and current_model(small_rules, store) is current


def test_explanations_render_in_chinese_without_english_and_in_english(rules: Rules, bundled) -> None:  # type: ignore[no-untyped-def]
    decision = route(Report("厨房有煤气味，金鹗小区5栋"), rules, bundled)
    zh = render_explanation(decision.to_dict(), rules, "zh")
    en = render_explanation(decision.to_dict(), rules, "en")
    assert len(zh) == len(en) >= 4
    assert not [line for line in zh if LATIN.search(line)], zh
    assert any("煤气" in line for line in zh) and en[0].startswith("Category: ")


def test_recategorising_and_lowering_priority_are_learned(session: Session, rules: Rules, now: datetime) -> None:
    w: World = make_world(session, rules, now)
    ticket = open_one(session, w, now, category="other")
    assert ticket.id is not None
    svc.recategorize(session, ticket_id=ticket.id, actor=w.reporter, rules=rules, category="water",
                     priority="emergency", now=now)
    svc.recategorize(session, ticket_id=ticket.id, actor=w.leader, rules=rules, category="drainage",
                     priority="emergency", now=now)
    set_priority(session, ticket_id=ticket.id, actor=w.leader, rules=rules, priority="normal", now=now)
    session.commit()
    rows = session.exec(select(RoutingExample).order_by(RoutingExample.id)).all()  # type: ignore[arg-type]
    assert [(r.source, r.category, r.emergency, r.actor_id) for r in rows] == [
        ("resident", "water", True, w.reporter.id), ("staff", "drainage", True, w.leader.id),
        ("staff", "drainage", False, w.leader.id)]
    assert [(e.category, e.emergency) for e in local_examples(session)] == [("drainage", False)]  # latest wins
    event = session.exec(select(TicketEvent).where(TicketEvent.kind == "priority_changed")).one()
    assert event.data == {"from": "emergency", "to": "normal"}
    with pytest.raises(PermissionDenied):
        set_priority(session, ticket_id=ticket.id, actor=w.neighbour, rules=rules, priority="low", now=now)


def test_the_nightly_job_retrains_on_local_examples_and_switches_when_no_worse(
        rules: Rules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.app import routing_retrain_job
    from bot.context import BotContext
    from cases.db import make_engine, upgrade

    monkeypatch.setenv("GRIDBOT_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "examples"
    folder.mkdir()
    write_examples(folder / "small.tsv", SMALL * 2 + [Example(e.category, e.emergency, e.text + "！") for e in SMALL])
    small_rules = rules.model_copy(update={"examples": str(folder)})
    ctx = BotContext.create(small_rules, secret="s", model=current_model(small_rules))
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade(engine)
    job = routing_retrain_job(ctx)
    now = datetime(2026, 11, 30)
    assert job(engine, now) is None  # nothing local yet: no retrain
    with Session(engine) as session:
        session.add(RoutingExample(text="小区门口卖菜的占了人行道", category="vendor", source="staff", created_at=now))
        session.commit()
    before = ctx.model
    result = job(engine, now)
    assert result is not None and result.candidate["examples"] == result.current["examples"]
    assert (ctx.model is result.model) == result.switched and (ctx.model is before) != result.switched
    if result.switched:
        assert job(engine, now) is None  # the same local examples are not learned twice
    engine.dispose()


def test_every_held_out_emergency_is_treated_as_one(rules: Rules, bundled) -> None:  # type: ignore[no-untyped-def]
    from cases.routing.evaluate import evaluate
    from cases.routing.model_store import bundled_examples

    result = evaluate(rules, split(bundled_examples(rules))[1], bundled)
    assert result.emergencies > 50 and result.emergencies_caught == result.emergencies, result.missed


def test_the_emergency_threshold_leaves_emergency_categories_to_their_priority(  # type: ignore[no-untyped-def]
        rules: Rules, bundled) -> None:
    """Training emergencies that a gas or elderly category (priority emergency) already catches do not pull the
    probability threshold down: without those categories it is lower, so more routine reports would be raised."""
    from cases.routing.model import train
    from cases.routing.model_store import bundled_examples

    urgent = frozenset(c for c, category in rules.categories.items() if category.priority == "emergency")
    assert urgent and bundled.emergency_threshold > 0
    examples = bundled_examples(rules)
    plain = train("k", list(rules.categories), examples, lambda _: [], lambda _: 0)
    by_category = train("k", list(rules.categories), examples, lambda _: [], lambda _: 0, emergency_categories=urgent)
    assert by_category.emergency_threshold > plain.emergency_threshold


def test_the_per_report_scoring_equals_scikit_learn_on_every_example(  # type: ignore[no-untyped-def]
        rules: Rules, bundled) -> None:
    """The hand-rolled TF-IDF row and the one-gather scoring of ``predict`` give what scikit-learn's
    TfidfVectorizer.transform and a sparse product with the weights give, on every bundled and evaluation text."""
    import numpy as np
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    from cases.routing.features import char_grams, word_grams
    from cases.routing.model_store import bundled_examples
    from cases.textnorm import normalize

    texts = [e.text for e in bundled_examples(rules)]
    texts += [e.text for path in sorted(Path("benchmarks/data").glob("*_eval.tsv")) for e in read_examples(path)]
    blocks = []
    for analyzer, vocabulary, idf in ((char_grams, bundled.char_vocabulary, bundled.char_idf),
                                      (word_grams, bundled.word_vocabulary, bundled.word_idf)):
        vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, vocabulary=vocabulary)
        vectorizer.idf_ = idf
        blocks.append(vectorizer.transform(texts))
    expected = sparse.hstack(blocks).tocsr()
    width = bundled.text_features
    weights = np.vstack([bundled.coef[:, :width], bundled.emergency_coef[None, :width]])
    for row, text in enumerate(texts):
        assert normalize_mapped(text).text == normalize(text), text  # the router hands predict() the former
        columns, values = bundled._text_row(normalize(text))
        mine = sparse.csr_matrix((values, (np.zeros(len(columns), dtype=int), columns)), shape=(1, width))
        difference = abs(mine - expected[row])
        assert not difference.nnz or difference.max() < 1e-9, text
        assert np.allclose(values @ bundled.text_weights[columns], expected[row] @ weights.T, atol=1e-9), text


def test_training_is_deterministic_whatever_numpy_s_global_generator_holds(rules: Rules) -> None:
    """The same rules and examples give the same model: LinearSVC's shuffling is seeded, not drawn from numpy's
    global generator (which other code may have moved), so a retrain cannot change decisions by chance."""
    import numpy as np

    examples = read_examples(Path(__file__).resolve().parents[1] / "routing_examples", rules.categories)[::8]
    models = []
    for seed in (1, 2):
        np.random.seed(seed)
        models.append(train_for(rules, examples))
    first, second = models
    assert np.array_equal(first.coef, second.coef) and np.array_equal(first.emergency_coef, second.emergency_coef)
    assert (first.threshold, first.emergency_threshold) == (second.threshold, second.emergency_threshold)
