"""The export dialog: builds ExportOptions, runs the export on the job pool, reports; cancel works."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402

from piaa_desktop.core.settings import Settings  # noqa: E402


@pytest.fixture
def lib_ids(catalog, small_library, app_paths):
    from piaa_desktop.core.scanner import scan_folder

    for f in sorted(small_library.glob("*.jpg"))[5:]:
        f.unlink()
    scan_folder(catalog, small_library, app_paths.cache_dir, workers=2)
    return catalog.query_ids(sort="name")


def test_dialog_exports_selection_resized(qtbot, catalog, lib_ids, tmp_path):
    from piaa_desktop.gui.export_dialog import ExportDialog

    settings = Settings()
    dlg = ExportDialog(catalog, photo_ids=lib_ids[:3], settings=settings)
    qtbot.addWidget(dlg)
    assert dlg.rb_selected.isChecked()
    assert not dlg.export_btn.isEnabled()  # no folder yet
    dest = tmp_path / "out"
    dlg.dest_edit.setText(str(dest))
    dlg.resize_cb.setChecked(True)
    dlg.long_edge_spin.setValue(160)
    dlg.template_edit.setText("{rank:02d}_{name}")
    assert "01_IMG_0042.jpg" in dlg.template_status.text()
    assert dlg.count_label.text().startswith("3 photos")
    assert dlg.export_btn.isEnabled()
    with qtbot.waitSignal(dlg.exportFinished, timeout=60000) as sig:
        dlg.export_btn.click()
    report = sig.args[0]
    assert report.exported == 3
    files = sorted(p.name for p in dest.glob("*.jpg"))
    assert [f[:3] for f in files] == ["01_", "02_", "03_"]
    assert all(max(Image.open(dest / f).size) == 160 for f in files)
    qtbot.waitUntil(lambda: dlg.handle is None, timeout=10000)
    assert "Exported 3 of 3" in dlg.status.text()
    assert settings.export_long_edge == 160 and settings.export_dir == str(dest)


def test_dialog_bad_template_and_modes(qtbot, catalog, lib_ids, tmp_path):
    from piaa_desktop.gui.export_dialog import ExportDialog

    catalog.set_flag(lib_ids[:2], 1)
    dlg = ExportDialog(catalog)
    qtbot.addWidget(dlg)
    assert not dlg.rb_selected.isEnabled() and dlg.rb_picks.isChecked()
    dlg.dest_edit.setText(str(tmp_path / "out"))
    assert dlg.count_label.text().startswith("2 photos")
    dlg.template_edit.setText("../{name}")
    assert not dlg.export_btn.isEnabled()
    assert "'..'" in dlg.template_status.text()
    dlg.template_edit.setText("{name}")
    dlg.rb_top.setChecked(True)
    dlg.top_spin.setValue(4)
    assert dlg.count_label.text().startswith("4 photos")
    opts = dlg.options()
    assert opts.top_n == 4 and not opts.picks


def test_dialog_cancel(qtbot, catalog, lib_ids, tmp_path, monkeypatch):
    import threading

    from piaa_desktop.core import export as E
    from piaa_desktop.gui.export_dialog import ExportDialog

    real = E.export_photos
    started, gate = threading.Event(), threading.Event()

    def gated(*a, **k):  # hold the worker until the test has pressed Stop
        started.set()
        gate.wait(30)
        return real(*a, **k)

    monkeypatch.setattr(E, "export_photos", gated)
    dlg = ExportDialog(catalog, photo_ids=lib_ids)
    qtbot.addWidget(dlg)
    out = tmp_path / "out"
    dlg.dest_edit.setText(str(out))
    with qtbot.waitSignal(dlg.exportFinished, timeout=60000) as sig:
        dlg.start_export()
        assert started.wait(30)
        assert dlg.cancel_btn.text() == "Stop"
        dlg.cancel_btn.click()  # Stop
        gate.set()
    exc = sig.args[0]
    assert isinstance(exc, E.ExportCancelled) and exc.report.exported == 0
    qtbot.waitUntil(lambda: dlg.handle is None, timeout=10000)
    assert "stopped" in dlg.status.text().lower()
    assert list(out.glob("*.jpg")) == [] and list(out.glob(".*.part")) == []
    assert dlg.cancel_btn.text() == "Close"


def test_second_export_into_the_same_folder_says_already_there(qtbot, app_paths, imported_library, tmp_path):
    """Walkthrough follow-up: the same export again into the same folder writes nothing and says so, in the
    dialog and in the window's status bar (it said "Exported 3 of 3")."""
    from _gui_helpers import open_window

    win = open_window(qtbot, app_paths)
    try:
        ids = win.model.ids()[:3]
        dest = tmp_path / "out"
        texts = []
        for _ in range(2):
            win.select_ids(ids, ids[0])
            dlg = win.features.export.show_export()
            assert dlg.rb_selected.isChecked()
            dlg.dest_edit.setText(str(dest))
            with qtbot.waitSignal(dlg.exportFinished, timeout=60000) as sig:
                dlg.export_btn.click()
            qtbot.waitUntil(lambda: dlg.handle is None, timeout=10000)
            texts.append((sig.args[0], dlg.status.text(), win.status_label.text()))
            dlg.close()
        (r1, dlg1, bar1), (r2, dlg2, bar2) = texts
        assert r1.exported == 3 and dlg1.startswith("Exported 3 of 3 photos") and bar1.startswith("Exported 3 of 3")
        assert (r2.exported, r2.already_there) == (0, 3)
        assert dlg2.startswith(f"All 3 photos already there in {r2.dest} (identical files), nothing written")
        assert "Exported 3" not in dlg2 and bar2.startswith("All 3 photos already there")
        assert len(list(dest.glob("*.jpg"))) == 3
    finally:
        win.close()
