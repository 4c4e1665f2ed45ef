"""Make resources/screenshots/main_window.png (the README's picture) with the real app, offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_screenshot.py \
        /tmp/sample-copy --data-dir /tmp/piaa-shot   # a copy of resources/sample_library

Imports the folder into a sandbox data dir, sorts by generic score, rates/flags/labels a few photos the
way a photographer culling would, learns the personal score from them and sorts by it, grabs the window and writes a 256-colour PNG (UI colours kept exact,
photos dithered) to stay small (offscreen.py: the window set-up every screenshot script shares).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from offscreen import open_window, parse_size  # noqa: E402

# row in the generic-score order -> (stars, flag, colour label)
CULL = {0: (5, 1, "green"), 1: (4, 1, None), 2: (4, 0, None), 3: (5, 1, None), 4: (3, 0, "yellow"),
        5: (2, 0, None), 6: (4, 1, None), 8: (3, 0, None), 9: (1, -1, None), 11: (3, 0, "blue"), 13: (2, -1, None)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", default=str(HERE / "main_window.png"))
    ap.add_argument("--size", default="1440x900")
    args = ap.parse_args()

    shot = open_window(args.data_dir, args.folder, parse_size(args.size))
    w = shot.win
    culling, personal = w.features.culling, w.features.personal
    shot.settle(0.1)
    w.set_sort("generic")
    ids = w.model.ids()
    for row, (stars, flag, label) in CULL.items():
        if row < len(ids):
            w.select_ids([ids[row]], ids[row])
            culling.set_rating(stars)
            culling.set_flag(flag)
            if label:
                culling.set_color_label(label)
    w.select_ids([ids[3]], ids[3])
    personal.train_now()  # learn this taste from the ratings, then show the library sorted by it
    shot.settle(0.2)
    shot.wait(lambda: not personal.training_running())
    w.set_sort("personal")
    res = personal.last_training
    if getattr(res, "accepted", False):
        w.say(f"Personal model updated from {res.n_ratings} ratings: the library is sorted by your taste")
    shot.settle(1.5)
    # the re-scoring that follows training lands after the sort: a culling pass holds its order until
    # F5, so show the library the way F5 leaves it, with the Info panel on the current photo
    w.refresh_order()
    w.info_dock.raise_()
    shot.settle(2.5)  # thumbnails of the visible rows load meanwhile
    shot.save(args.out)
    shot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
