"""The one set-up every screenshot script here shares: the real main window on a library, offscreen.

    from offscreen import open_window
    shot = open_window(data_dir, folder)        # dark theme, 1280x800, the folder imported (or a sample copy)
    shot.win.select_ids([pid], pid); shot.settle(1.0)
    shot.save(HERE / "name.png")                # grabbed, written as a small 256-colour PNG, path printed
    shot.close()

:func:`small_png` keeps the UI colours exact and dithers the photos, so the README's pictures stay small.
The scripts run from a checkout (``python resources/screenshots/make_*.py``); this folder is on their path.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without an install
    sys.path.insert(0, str(ROOT))

UI_COLOURS = (
    "#e5534b #e8c547 #4cb963 #4f8df5 #a371f7 #f5b83d #3b76d9 #2b4a7d #2a3447 #1e2126 #16181c #1f2228 #9aa3b2 "
    "#e3e6eb #ffffff #000000 #262a31 #272b33 #2c3038 #3a3f4a #464c58 #6b7280 #7d8595 #121417 #1a1d22 #23272e "
    "#333843 #6b7f9e"
).split()


def small_png(src: Path, dest: Path) -> None:
    """``src`` as a 256-colour PNG: the app's UI colours exact, the rest a median-cut palette, dithered."""
    from PIL import Image

    im = Image.open(src).convert("RGB")
    n_ui = len(UI_COLOURS)
    pal = im.quantize(colors=256 - n_ui, method=Image.Quantize.MEDIANCUT).getpalette()[: (256 - n_ui) * 3]
    for h in UI_COLOURS:
        pal += [int(h[i : i + 2], 16) for i in (1, 3, 5)]
    holder = Image.new("P", (1, 1))
    holder.putpalette(pal + [0] * (768 - len(pal)))
    im.quantize(palette=holder, dither=Image.Dither.FLOYDSTEINBERG).save(dest, optimize=True)


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x800"`` -> (1280, 800)."""
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


class Shot:
    """The application and its main window (``win``), with the waits a script needs between steps."""

    def __init__(self, data_dir, size: tuple[int, int] = (1280, 800)):
        from PySide6.QtWidgets import QApplication

        import piaa_desktop.gui  # noqa: F401 - PySide6 guard
        from piaa_desktop.core.paths import app_paths
        from piaa_desktop.gui.main_window import MainWindow
        from piaa_desktop.gui.theme import app_icon, apply_theme

        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        apply_theme(self.app, "dark")
        self.app.setWindowIcon(app_icon())
        self.data_dir = Path(data_dir)
        self.win = MainWindow(app_paths(self.data_dir))
        self.win.settings.set("first_run_done", True)  # no welcome tour over the library
        self.win.resize(*size)
        self.win.show()
        self.win.info_dock.raise_()  # the Info panel in front of the other tabbed panels

    def wait(self, cond: Callable[[], bool], timeout: float = 300.0) -> None:
        """Run the event loop until ``cond()`` (background jobs report through it); TimeoutError after ``timeout`` s."""
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError("the app did not get there in time")
            self.app.processEvents()
            time.sleep(0.02)

    def settle(self, seconds: float = 0.3) -> None:
        """Run the event loop for ``seconds`` (thumbnails and renders land meanwhile)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.02)

    def import_folder(self, folder, timeout: float = 600.0) -> list[int]:
        """Import ``folder`` and wait until it is done (nothing to do when the catalog already has photos);
        returns the photo ids in the grid's order."""
        w = self.win
        if not w.model.rowCount():
            done: list = []
            w.importFinished.connect(done.append)
            w.features.importing.import_folder(str(folder))
            self.wait(lambda: bool(done) and not w.features.importing.import_running() and w.model.rowCount() > 0,
                      timeout)
        return w.model.ids()

    def id_of(self, name: str, default: Optional[int] = None) -> Optional[int]:
        """The id of the photo called ``name`` in the grid (``default`` when there is none)."""
        return next((i for i in self.win.model.ids() if self.win.model.record(i).name == name), default)

    def save(self, dest, settle: float = 0.2) -> Path:
        """Grab the window and write it to ``dest`` as a small PNG; prints the path and size."""
        self.settle(settle)
        dest = Path(dest)
        raw = dest.with_suffix(".raw.png")
        self.win.grab().save(str(raw))
        small_png(raw, dest)
        raw.unlink()
        print(f"wrote {dest} ({dest.stat().st_size // 1024} KB)", flush=True)
        return dest

    def close(self) -> None:
        self.win.close()
        self.app.processEvents()


def open_window(data_dir, folder=None, size: tuple[int, int] = (1280, 800)) -> Shot:
    """The main window (dark theme, ``size``) on a sandbox data dir with ``folder`` imported; without a
    folder, a copy of the bundled sample library under ``data_dir/photos``."""
    from piaa_desktop.core.sample import copy_sample_library

    shot = Shot(data_dir, size)
    if folder is None and not shot.win.model.rowCount():
        folder = copy_sample_library(Path(data_dir) / "photos")
    if folder is not None:
        shot.import_folder(folder)
    return shot
