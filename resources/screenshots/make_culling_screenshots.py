"""Make the README's culling screenshots with the real app, offscreen, at 1280x800:

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_culling_screenshots.py \
        --data-dir /tmp/piaa-shots [--folder FOLDER]   # default: a copy of resources/sample_library

* ``loupe_filmstrip.png``: the loupe, fitted, with the histogram, the EXIF line and the filmstrip;
* ``loupe_100.png``: a photo at 100 % (clicked at a detail);
* ``ranking.png``: the ranking view after ``--answers`` answers (names, the count and the running check of
  how many answers it guessed, the Info panel on the pair's left photo).

Written as 256-colour PNGs (UI colours exact, photos dithered) like ``main_window.png`` (offscreen.py: the
window set-up every screenshot script shares).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from offscreen import open_window  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default=None)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out-dir", default=str(HERE))
    ap.add_argument("--photo", default="chelsea_the_cat.jpg", help="the photo shown in the loupe")
    ap.add_argument("--zoom-photo", default="hubble_deep_field.jpg", help="the photo shown at 100 %%")
    ap.add_argument("--answers", type=int, default=12, help="pairs answered before ranking.png")
    ap.add_argument("--zoom-at", default="0.55,0.45", help="where to click for 100 %%, as fractions of the photo")
    args = ap.parse_args()

    shot = open_window(args.data_dir, args.folder)
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    w, out = shot.win, Path(args.out_dir)
    ids = w.model.ids()
    # a few ratings and flags, as a pass would leave them
    for k, (stars, flag) in enumerate([(4, 1), (3, 0), (5, 1), (2, -1), (3, 0), (1, -1)]):
        if k < len(ids):
            w.select_ids([ids[k]], ids[k])
            w.features.culling.set_rating(stars)
            w.features.culling.set_flag(flag)
    target = shot.id_of(args.photo, ids[0])
    w.select_ids([target], target)
    w.show_view("loupe")
    shot.wait(lambda: w.loupe.has_preview(target))
    shot.save(out / "loupe_filmstrip.png")

    zoom_id = shot.id_of(args.zoom_photo, target)
    w.select_ids([zoom_id], zoom_id)
    shot.wait(lambda: w.loupe.has_preview(zoom_id))
    fx, fy = (float(v) for v in args.zoom_at.split(","))
    r = w.loupe.view.image_rect()
    at = QPointF(r.x() + fx * r.width(), r.y() + fy * r.height())
    QTest.mouseClick(w.loupe.view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at.toPoint())
    shot.wait(lambda: w.loupe.view.zoom_percent() == 100)
    shot.save(out / "loupe_100.png")

    w.show_view("grid")
    w.show_view("ranking")
    rv = w.features.ranking.ranking
    for _ in range(args.answers):  # a photographer's pace: each answer's check arrives before the next
        try:
            shot.wait(lambda: rv.current is not None, timeout=30)  # the pairs are found on a worker
        except TimeoutError:
            break
        a, b = rv.current
        QTest.keyClick(rv, Qt.Key.Key_Left if a < b else Qt.Key.Key_Right)  # one consistent taste
        n = rv.answered_total()
        shot.wait(lambda: rv.check is not None and rv.check.n_answers == n)
    personal = w.features.personal  # the personal model re-trained from these answers (the Info panel's words)
    shot.wait(lambda: not personal.train_timer.isActive() and not personal.training_running())
    shot.settle(0.5)
    shot.save(out / "ranking.png")
    shot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
