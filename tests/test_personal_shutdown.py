"""After the window closed, a catalog change that the closing still finishes (the culling feature's big rating
committed at shutdown) starts no re-training: its timer would fire on a closed window and submit to a jobs
manager already shut down."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from _gui_helpers import open_window  # noqa: E402


def test_no_training_scheduled_after_shutdown(qtbot, app_paths, imported_library):
    w = open_window(qtbot, app_paths)
    personal = w.features.personal
    personal.schedule_training()
    assert personal.train_timer.isActive()  # while open: the debounced re-training waits
    w.close()
    assert not personal.train_timer.isActive()
    personal.schedule_training()  # what a change announced during the close does
    assert not personal.train_timer.isActive()
    assert personal.train_now() is None and not personal.training_running()
