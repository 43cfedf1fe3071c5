"""The faster forms of routing's inner steps give what the plain forms give: the grid cells answer as the STRtree
does, the whole-text character n-grams are those of padding each word, the remembered words and runs of a text
are handed out as copies, and only text with Chinese goes through OpenCC. (That the decisions themselves are
unchanged is shown by ``benchmarks/routing_same.py`` on every bundled and evaluation text.)"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from pathlib import Path

from shapely.geometry import Point

from benchmarks.gen_rules import write
from cases.routing.features import normalized_char_grams
from cases.routing.geo import GridLocator
from cases.rules.loader import load_rules
from cases.rules.schema import Rules
from cases.textnorm import cjk_runs, to_simplified, words


def _per_word_grams(norm: str) -> list[str]:
    """Character 1..3-grams of each word padded on its own (the definition)."""
    grams: list[str] = []
    for word in norm.split(" "):
        if word:
            padded = f" {word} "
            grams.extend(padded[1:-1])
            grams.extend(padded[i:i + n] for n in (2, 3) for i in range(len(padded) - n + 1))
    return grams


def test_char_grams_of_the_whole_text_are_those_of_each_padded_word() -> None:
    rng = random.Random(0)
    texts = ["", " ", "a", "a b", " a  b ", "我家 楼下 gas leak", "x" * 5]
    texts += ["".join(rng.choice("ab 水管 c") for _ in range(rng.randrange(15))) for _ in range(5000)]
    for text in texts:
        assert Counter(normalized_char_grams(text)) == Counter(_per_word_grams(text)), text


def _grid_rules() -> Rules:
    with tempfile.TemporaryDirectory() as tmp:
        return load_rules(write(Path(tmp) / "rules.yaml", keywords=50, grids=60, seed=3))


def test_the_cells_find_the_grids_the_strtree_finds_inside_outside_and_on_edges() -> None:
    rules = _grid_rules()
    locator = GridLocator(rules)
    rng = random.Random(1)
    boxes = [p.bounds for p in locator.polygons]
    points: list[tuple[float, float]] = []
    for min_x, min_y, max_x, max_y in boxes:
        points += [(rng.uniform(min_x - 0.01, max_x + 0.01), rng.uniform(min_y - 0.01, max_y + 0.01))
                   for _ in range(20)]
        points += [(min_x, min_y), (max_x, max_y), ((min_x + max_x) / 2, min_y)]
    points += [(x, y) for p in locator.polygons[:20] for x, y in p.exterior.coords]  # vertices: shared edges
    assert locator._cells.cells is not None
    for lon, lat in points:
        tree = sorted(int(i) for i in locator._tree.query(Point(lon, lat), predicate="intersects"))  # type: ignore[union-attr]
        assert locator._cells.holding(lon, lat) == tree, (lon, lat)


def test_text_caches_hand_out_copies() -> None:
    first = words("burst pipe here")
    first.clear()
    assert [w for _, _, w in words("burst pipe here")] == ["burst", "pipe", "here"]
    runs = cjk_runs("水管 burst 爆了")
    runs.clear()
    assert cjk_runs("水管 burst 爆了") == [(0, "水管"), (9, "爆了")]


def test_text_without_chinese_is_not_converted_and_with_chinese_is() -> None:
    assert to_simplified("burst pipe 3") == "burst pipe 3"
    assert to_simplified("樓道燈 broken") == "楼道灯 broken"


def test_the_nearest_examples_are_those_a_full_partition_picks() -> None:
    import numpy as np

    from cases.routing.model import _largest

    rng = np.random.default_rng(0)
    for size in (1, 2, 3, 4, 5, 50, 500):
        for _ in range(300):
            values = np.zeros(size)
            touched = rng.choice(size, size=rng.integers(0, size + 1), replace=False)
            values[touched] = rng.choice([0.1, 0.2, 0.3, 0.5], len(touched)) if rng.random() < 0.5 \
                else rng.random(len(touched))  # ties, or (almost surely) none
            before = values.copy()
            count = min(3, size)
            best = np.argpartition(-values, count - 1)[:count]
            best = best[np.argsort(-values[best], kind="stable")]
            expected = [int(i) for i in best if values[i] > 0]
            assert [i for i in _largest(values, count) if values[i] > 0] == expected
            assert np.array_equal(values, before)  # the values are left as they were
