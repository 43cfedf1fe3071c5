"""Generate a large, valid rules file for benchmarks: many keywords and many grid polygons.

``python -m benchmarks.gen_rules OUT.yaml [--keywords 1000] [--grids 500]`` writes it (JSON, which is
valid YAML). Keywords are half Chinese (2-4 characters), half English (1-2 made-up words); grids are
0.004° squares on a rectangular layout, each with a Chinese and an English place name.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path
from typing import Any

__all__ = ["generate", "write"]

# Common characters that are the same in simplified and traditional script.
_HANZI = (
    "安八白百班板半包北被本比笔边表别病不布才菜草层茶长场车成城出川春从村大带单当刀道的灯地点电东冬动都"
    "短对多儿二发法饭方房放非分风夫服干高个工公古瓜关官光广果海好合河黑很红后湖花华话黄回火家间江交角叫"
    "街今金京九酒口快块来老里力立林六楼路绿马买卖毛没门米面民明木南年牛农平七其气千前桥青清秋去人日山上"
    "少社身生十石时市手书水四寺松他台天田条铁庭同头土外万王网文我五午西溪下夏先小心新星学雪羊阳也一衣音"
)
_SYLLABLES = ["ka", "lo", "mi", "ter", "van", "po", "rus", "den", "fi", "gal", "shu", "tor", "ben", "qua",
              "zel", "mor", "pin", "das", "rik", "sol", "ne", "bra", "cu", "hep"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))


def _name(text: str) -> dict[str, str]:
    return {"zh": text, "en": text}


def generate(keywords: int = 1000, grids: int = 500, categories: int = 50, seed: int = 7) -> dict[str, Any]:
    """A rules mapping with ``keywords`` keywords over ``categories`` categories and ``grids`` grids."""
    rng = random.Random(seed)
    used: set[str] = set()

    def fresh(make: Any) -> str:
        while True:
            value = make()
            if value not in used:
                used.add(value)
                return str(value)

    cats: dict[str, Any] = {}
    per = math.ceil(keywords / categories)
    made = 0
    priorities = ["low", "normal", "normal", "urgent", "emergency"]
    for number in range(categories):
        words: list[str] = []
        for slot in range(per):
            if made >= keywords:
                break
            if slot % 2:
                words.append(fresh(lambda: " ".join(_word(rng) for _ in range(rng.randint(1, 2)))))
            else:
                words.append(fresh(lambda: "".join(rng.choice(_HANZI) for _ in range(rng.randint(2, 4)))))
            made += 1
        cats[f"cat{number:02d}"] = {"name": _name(f"Category {number}"), "keywords": words,
                                    "priority": priorities[number % len(priorities)]}
    cats["other"] = {"name": _name("Other")}

    columns = math.ceil(math.sqrt(grids * 1.25))
    streets = max(1, round(grids / 100))
    areas: dict[str, Any] = {"district": {"kind": "district", "children": [f"s{n}" for n in range(streets)]}}
    for grid in range(grids):
        community = f"c{grid // 20}"
        if community not in areas:
            street = f"s{(grid // 20) % streets}"
            areas.setdefault(street, {"kind": "street", "children": []})["children"].append(community)
            areas[community] = {"kind": "community", "children": []}
        areas[community]["children"].append(f"g{grid}")
        lon = 113.0 + (grid % columns) * 0.004
        lat = 29.0 + (grid // columns) * 0.004
        zh = fresh(lambda: "".join(rng.choice(_HANZI) for _ in range(3)) + "小区")
        en = fresh(lambda: f"{_word(rng).title()} Estate")
        areas[f"g{grid}"] = {
            "kind": "grid",
            "places": [zh, en],
            "boundary": [[lon, lat], [lon + 0.004, lat], [lon + 0.004, lat + 0.004], [lon, lat + 0.004]],
        }
    for number in range(streets):
        areas.setdefault(f"s{number}", {"kind": "street", "children": []})
    teams = {f"team{n}": {"name": _name(f"Team {n}")} for n in range(3)}
    routes: list[dict[str, Any]] = [
        {"category": "cat00", "to": "team:team0"},
        {"category": ["cat01", "cat02"], "area": "s0", "to": "team:team1"},
        {"priority": "emergency", "to": "team:team2"},
        {"to": "grid"},
    ]
    return {"timezone": "Asia/Shanghai", "categories": cats, "areas": areas, "teams": teams, "routes": routes}


def write(path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`generate`'s rules to ``path`` (as JSON, a subset of YAML)."""
    target = Path(path)
    target.write_text(json.dumps(generate(**kwargs), ensure_ascii=False, indent=1), encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--keywords", type=int, default=1000)
    parser.add_argument("--grids", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(write(args.out, keywords=args.keywords, grids=args.grids, seed=args.seed))


if __name__ == "__main__":
    main()
