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


def test_dialog_says_how_many_are_already_there_before_exporting(qtbot, catalog, lib_ids, tmp_path):
    """The dialog checks the folder off the GUI thread and says it before Export: 2 of 5 photos exported
    already (identical files), a different file under a third's name (written as name-1), 2 new."""
    from piaa_desktop.core.export import ExportOptions, export_photos
    from piaa_desktop.gui.export_dialog import ExportDialog

    dest = tmp_path / "out"
    first = export_photos(catalog, lib_ids[:2], dest, ExportOptions(template="{name}"))
    assert first.exported == 2
    third = catalog.photo(lib_ids[2])
    size = Path(third.path).stat().st_size
    (dest / Path(third.path).name).write_bytes(b"x" * size)  # same name and size, other bytes: not the same file
    dlg = ExportDialog(catalog, photo_ids=lib_ids)
    qtbot.addWidget(dlg)
    dlg.template_edit.setText("{name}")
    dlg.dest_edit.setText(str(dest))
    assert "Checking what the folder already holds" in dlg.count_label.text()
    qtbot.waitUntil(lambda: not dlg.checking(), timeout=20000)
    text = dlg.count_label.text()
    assert text.startswith("5 photos (the 5 selected photos, in grid order): 2 already there (identical files), 3 to export"), text
    assert dlg.export_btn.isEnabled()
    # another folder: nothing there, the plain words again
    dlg.dest_edit.setText(str(tmp_path / "empty"))
    qtbot.waitUntil(lambda: not dlg.checking(), timeout=20000)
    assert dlg.count_label.text().startswith("5 photos will be exported: the 5 selected photos")
    # back, then Export: the report agrees with what was said, and the folder is checked again afterwards
    dlg.dest_edit.setText(str(dest))
    qtbot.waitUntil(lambda: not dlg.checking(), timeout=20000)
    with qtbot.waitSignal(dlg.exportFinished, timeout=60000) as sig:
        dlg.export_btn.click()
    report = sig.args[0]
    assert (report.already_there, report.exported, report.renamed) == (2, 3, 1)
    qtbot.waitUntil(lambda: dlg.handle is None and not dlg.checking(), timeout=20000)
    assert dlg.count_label.text().startswith("5 photos (the 5 selected photos, in grid order): all already there"), dlg.count_label.text()


def test_preview_export_decides_as_the_export(catalog, lib_ids, tmp_path):
    """preview_export's counts are what export_photos then reports, for copies, embedded XMP and renders."""
    from piaa_desktop.core.export import ExportOptions, export_photos, preview_export

    dest = tmp_path / "out"
    assert preview_export(catalog, lib_ids, dest).to_export == len(lib_ids)  # no folder yet
    for opts in (ExportOptions(template="{name}"), ExportOptions(template="{name}", embed_xmp=True),
                 ExportOptions(template="r_{name}", long_edge=64)):
        export_photos(catalog, lib_ids[:3], dest, opts)
        p = preview_export(catalog, lib_ids, dest, opts)
        if opts.long_edge:  # rendered: its bytes exist only once rendered, so the taken names count apart
            assert (p.already_there, p.name_taken, p.to_export) == (0, 3, 2)
        else:
            assert (p.already_there, p.to_export) == (3, 2)
        r = export_photos(catalog, lib_ids, dest, opts)
        assert r.already_there == (3 if opts.long_edge else p.already_there)
    catalog.set_rating(lib_ids[:1], 5)  # the embedded XMP would now differ for this one
    p = preview_export(catalog, lib_ids, dest, ExportOptions(template="{name}", embed_xmp=True))
    assert (p.already_there, p.to_export) == (4, 1)
