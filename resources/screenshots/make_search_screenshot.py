"""Make resources/screenshots/search.png: the search bar, library tree and keyword panel, offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_search_screenshot.py \
        /tmp/sample-tree --data-dir /tmp/piaa-shot-search

Copies the sample library into ``folder`` as a small tree (city/, city/night/, nature/), imports it,
tags a few photos with hierarchical keywords, saves a smart collection, types a search and grabs the
window at 1280x800 (a 256-colour PNG like the main screenshot; offscreen.py: the shared window set-up).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from offscreen import open_window  # noqa: E402

KEYWORDS = {
    "astronaut.jpg": ["People|Astronaut", "Space|NASA"],
    "rocket_launch.jpg": ["Space|NASA", "Space|Rocket"],
    "hubble_deep_field.jpg": ["Space|Galaxies"],
    "chelsea_the_cat.jpg": ["Animals|Cat"],
    "coffee.jpg": ["Food|Coffee"],
    "coffee_underexposed.jpg": ["Food|Coffee"],
}
TREE = {"astronaut.jpg": "space", "rocket_launch.jpg": "space", "hubble_deep_field.jpg": "space/deep sky",
        "chelsea_the_cat.jpg": "home", "coffee.jpg": "home/kitchen", "coffee_underexposed.jpg": "home/kitchen",
        "cameraman.jpg": "home", "clock_motion_blur.jpg": "home"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", default=str(HERE / "search.png"))
    ap.add_argument("--query", default="kw:Space rating:>=3")
    args = ap.parse_args()

    from piaa_desktop.core.sample import sample_photos

    lib = Path(args.folder)
    if not lib.exists():
        for src in sample_photos():
            d = lib / TREE.get(src.name, "misc")
            d.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, d / src.name)

    shot = open_window(args.data_dir, lib)
    w = shot.win
    shot.settle(0.3)
    by_name = {w.model.record(i).name: i for i in w.model.ids()}
    for name, kws in KEYWORDS.items():
        if name in by_name:
            w.catalog.add_keywords([by_name[name]], kws)
    for name, stars in (("astronaut.jpg", 4), ("rocket_launch.jpg", 5), ("hubble_deep_field.jpg", 3),
                        ("chelsea_the_cat.jpg", 5)):
        if name in by_name:
            w.catalog.set_rating([by_name[name]], stars)
    library = w.features.library
    if w.catalog.collection_by_name("Space, 3+ stars") is None:
        library.create_collection("Space, 3+ stars", "kw:Space rating:>=3")
        library.create_collection("Five stars", "rating:5")
        cid = library.create_collection("Portfolio")
        w.catalog.add_to_collection(cid, [by_name[n] for n in ("rocket_launch.jpg", "chelsea_the_cat.jpg")
                                          if n in by_name])
    library.refresh_tree()
    library.keyword_dock.raise_()
    searched: list = []
    library.searchFinished.connect(lambda *a: searched.append(a))
    library.search_bar.edit.setFocus()
    library.search_bar.edit.setText(args.query)
    shot.wait(lambda: bool(searched), 60)
    shot.settle(0.3)
    ids = w.model.ids()
    if ids:
        w.select_ids([ids[0]], ids[0])
    shot.settle(2.5)
    shot.save(args.out)
    shot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
