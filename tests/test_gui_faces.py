"""Faces and eyes in the real main window: the background pass after import, grid badges, filter, Info panel."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from piaa_desktop.core import faces as F
from piaa_desktop.core.sample import sample_library_dir
from piaa_desktop.gui.main_window import MainWindow
from tests.test_faces import close_eyes, painted_eyes_count_as_closed  # noqa: F401 (fixture)

SAMPLES = sample_library_dir()


@pytest.fixture
def face_library(tmp_path):
    lib = tmp_path / "faces-lib"
    lib.mkdir()
    for name in ("astronaut.jpg", "cameraman.jpg", "coffee.jpg", "chelsea_the_cat.jpg"):
        shutil.copy(SAMPLES / name, lib / name)
    a = F.get_analyzer()
    rgb = F.load_rgb(SAMPLES / "astronaut.jpg")
    pts, _ = a.landmarks(rgb, a.detect(rgb)[0])
    Image.fromarray(close_eyes(rgb, pts)).save(lib / "astronaut_blink.jpg", quality=95)
    return lib


@pytest.fixture
def window(qtbot, app_paths, face_library, painted_eyes_count_as_closed):
    win = MainWindow(app_paths)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    win.features.importing.import_folder(face_library)
    qtbot.waitUntil(lambda: not win.features.importing.import_running() and win.model.rowCount() == 5, timeout=120_000)
    # the faces pass starts by itself after the import, in the background
    qtbot.waitUntil(lambda: win.features.faces.last_result is not None, timeout=120_000)
    yield win
    win.close()


def _id(win, name):
    return next(pid for pid in win.model.ids() if win.model.record(pid).name == name)


def test_faces_pass_badges_filter_and_info_then_on_demand_finds_nothing_new(window, qtbot):
    win = window
    assert win.features.faces.last_result == 5
    blink, astro, coffee = _id(win, "astronaut_blink.jpg"), _id(win, "astronaut.jpg"), _id(win, "coffee.jpg")
    assert "closed_eyes" in win.model.tech_flags(blink)
    assert "closed_eyes" not in win.model.tech_flags(astro) and "soft_face" not in win.model.tech_flags(astro)
    assert "Closed eyes" in win.model.data(win.model.index_of(blink), Qt.ItemDataRole.ToolTipRole)

    win.set_filter(flag="faces:closed")
    assert win.model.ids() == [blink]
    win.set_filter(flag="faces:none")
    assert set(win.model.ids()) == {coffee, _id(win, "chelsea_the_cat.jpg")}
    win.set_filter(flag="all")
    assert win.model.rowCount() == 5

    win.select_ids([blink], blink)
    assert "eyes closed" in win.features.faces.label.text()
    win.select_ids([astro], astro)
    assert "eyes open" in win.features.faces.label.text() and "Face 1" in win.features.faces.label.text()
    win.select_ids([coffee], coffee)
    assert win.features.faces.label.text() == "No faces."

    # then the pass on demand (Photo > Find faces) finds nothing new: every photo was analysed after the import
    # (one test with the one above: the window, its import and faces pass cost seconds of CPU)
    # h.done is set on the worker right after it posts the result, before the GUI thread handled it:
    # wait for the jobs manager's jobFinished (emitted on the GUI thread after the job's callbacks ran)
    # (the pass queues behind whatever the shared 2-thread job pool is running: 120 s, as the fixture's waits,
    # for a loaded machine; a timeout names the jobs still running)
    h = None
    try:
        with qtbot.waitSignal(win.jobs.jobFinished, timeout=120_000, check_params_cb=lambda hh: hh is h):
            h = win.features.faces.run_pass()
    except qtbot.TimeoutError:
        pytest.fail(f"the on-demand faces pass did not finish in 120 s (handle done: {getattr(h, 'done', None)}); "
                    f"jobs still running: {[j.name for j in win.jobs.running()]}")
    assert h.done
    assert win.features.faces.last_result == 0
