"""Property tests: routing never raises on any text (up to 10,000 characters) and is deterministic."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cases.routing import Report, RoutingIndex, route
from cases.rules.schema import Rules

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text from every Unicode category (control characters, emoji, combining marks, CJK), sometimes long.
any_text = st.one_of(
    st.text(max_size=200),
    st.text(max_size=10_000),
    st.lists(st.sampled_from(["水管", "樓道燈", "拉圾", "burts pipe", "金鹗小区", "😀", "\x00", " ", "ß", "\u0301"]),
             max_size=400).map("".join),
)
coordinate = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(-90, 90))
home = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["taizimiao-1", "liulin", "dongting", "云梦花园"]))


@_SETTINGS
@given(text=any_text, lat=coordinate, lon=coordinate, home_area=home)
@example(text="水管爆了" * 2_500, lat=None, lon=None, home_area=None)
@example(text="burts pipe garbge " * 555, lat=29.353, lon=113.104, home_area="liulin")
@example(text="😀\x00\u202e\ud7ff\U0010ffff" * 2_000, lat=float("nan"), lon=1e308, home_area="")
def test_route_never_raises_and_is_deterministic(rules: Rules, text: str, lat: float | None, lon: float | None,
                                                 home_area: str | None) -> None:
    report = Report(text, lat, lon, home_area)
    decision = route(report, rules)
    assert decision.category in rules.categories
    assert 0 <= decision.category_score <= 100
    assert decision.area is None or rules.areas[decision.area].kind == "grid"
    assert decision.needs_location == (decision.target is None)
    assert route(report, rules) == decision
    assert route(report, rules, index=RoutingIndex.build(rules)) == decision
    assert decision.explain()


# No letters, so nothing in the noise can outweigh the gas keyword appended at the end.
_NO_LETTERS = st.characters(codec="utf-8", exclude_categories=("Lu", "Ll", "Lt", "Lm", "Lo"))


@_SETTINGS
@given(text=st.text(alphabet=_NO_LETTERS, min_size=1_000, max_size=10_000))
def test_long_texts_still_serialise(rules: Rules, text: str) -> None:
    data = route(Report(text + " 燃气泄漏"), rules).to_dict()
    assert data["category"] == "gas"  # exact matching covers the whole text, however long
    assert data["target"] == "team:gas-company"
