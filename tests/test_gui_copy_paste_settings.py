"""Copy / paste develop settings (Lightroom's Ctrl+Shift+C / Ctrl+Shift+V) in the real main window: from the
current photo onto every selected photo, as one undo step, in the grid and in the loupe with the develop
panel focused; the crop is not pasted; thumbnails re-render; every key of the window is bound once."""
from collections import defaultdict

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from _gui_helpers import open_window
from piaa_desktop.core import develop as D

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
MINE = {"exposure": 0.8, "contrast": 20.0, "crop_left": 0.1, "crop_right": 0.9}  # a tone edit and a crop
THEIR_CROP = {"angle": 2.0, "crop_top": 0.2, "saturation": -30.0}


@pytest.fixture
def window(qtbot, app_paths, imported_library):
    win = open_window(qtbot, app_paths, active=True)  # keys go through the application's shortcut map
    assert win.model.rowCount() == 12
    yield win
    win.close()


def _keys(window, widget, key):
    QTest.keyClick(widget, key, CTRL_SHIFT)


def test_copy_paste_in_the_grid_one_undo_step_crop_kept(window, qtbot):
    cat = window.catalog
    ids = window.model.ids()
    src, targets = ids[0], ids[1:5]
    cat.set_edit([src], MINE)
    cat.set_edit([targets[2]], THEIR_CROP)  # this one has its own crop and straighten
    before = {pid: cat.get_edit(pid) for pid in ids}

    # paste before any copy: says what to do, changes nothing
    window.select_ids(targets, targets[0])
    _keys(window, window.grid, Qt.Key.Key_V)
    assert window.status_label.text() == "Nothing copied yet: Ctrl+Shift+C on a photo first"
    assert {pid: cat.get_edit(pid) for pid in ids} == before

    window.select_ids([src], src)
    window.grid.setFocus()
    _keys(window, window.grid, Qt.Key.Key_C)
    said = window.status_label.text()
    assert said.startswith("Copied the develop settings of ") and "tone and colour; not the crop" in said
    assert "Exposure +0.8" in said and "Contrast +20" in said

    window.select_ids(targets, targets[0])
    thumbs = window.thumbs
    _keys(window, window.grid, Qt.Key.Key_V)
    assert window.status_label.text().startswith("Pasted settings onto 4 photos (tone and colour; not the crop)")
    for pid in targets:
        got = D.normalize_params(cat.get_edit(pid))
        assert got["exposure"] == pytest.approx(0.8) and got["contrast"] == pytest.approx(20)
        if pid == targets[2]:  # its own framing stays; its tone is replaced by the copied one (as Lightroom)
            assert (got["angle"], got["crop_top"], got["saturation"]) == (2.0, 0.2, 0.0)
        else:  # the source's crop is not pasted
            assert D.geometry_is_identity(got)
    assert cat.get_edit(src) == before[src] and cat.get_edit(ids[5]) == before[ids[5]]
    # the grid's thumbnails of the pasted photos are re-rendered with the new settings
    qtbot.waitUntil(lambda: all(not thumbs.is_stale(p) and thumbs.signature(p) == D.edit_signature(cat.get_edit(p))
                                for p in targets), timeout=30000)

    # one Ctrl+Z undoes the whole paste
    QTest.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert {pid: cat.get_edit(pid) for pid in ids} == before


def test_copy_paste_in_the_loupe_with_the_develop_panel_focused(window, qtbot):
    """In the loupe, with the keyboard focus on a develop slider: the window's keys still work (the panel's
    own Ctrl+Shift+C/V shortcuts would make them ambiguous) and the panel shows the pasted values."""
    cat = window.catalog
    ids = window.model.ids()
    cat.set_edit([ids[0]], MINE)
    window.select_ids([ids[0]], ids[0])
    window.show_view("loupe")
    dev = window.features.develop
    dev.dock.show()
    dev.dock.raise_()
    panel = dev.panel
    qtbot.waitUntil(lambda: panel.ids == [ids[0]], timeout=5000)
    slider = panel.sliders["exposure"].slider
    slider.setFocus()
    _keys(window, slider, Qt.Key.Key_C)
    assert panel.clipboard is not None and panel.clipboard["exposure"] == pytest.approx(0.8)
    assert "crop_left" not in panel.clipboard
    window.select_ids([ids[3]], ids[3])  # the next photo in the loupe
    assert window.current_view() == "loupe"
    qtbot.waitUntil(lambda: panel.ids == [ids[3]], timeout=5000)
    slider.setFocus()
    _keys(window, slider, Qt.Key.Key_V)
    assert window.status_label.text().startswith("Pasted settings onto 1 photo ")
    assert D.normalize_params(cat.get_edit(ids[3]))["exposure"] == pytest.approx(0.8)
    assert panel.sliders["exposure"].value() == pytest.approx(0.8)  # the panel shows what was pasted
    assert D.geometry_is_identity(cat.get_edit(ids[3]))


def test_menu_shows_the_actions_with_their_keys_and_says_the_crop_is_not_pasted(window):
    dev = window.features.develop
    edit = window.menu("edit")
    assert dev.act_copy_settings in edit.actions() and dev.act_paste_settings in edit.actions()
    assert dev.act_copy_settings.shortcut().toString() == "Ctrl+Shift+C"
    assert dev.act_paste_settings.shortcut().toString() == "Ctrl+Shift+V"
    assert "not its crop" in dev.act_copy_settings.toolTip()
    assert "crop is not pasted" in dev.act_paste_settings.toolTip()
    assert "Ctrl+Z" in dev.act_paste_settings.toolTip()


def test_every_key_of_the_main_window_is_bound_once(window):
    """Two actions (or an action and a widget's shortcut) on one key make Qt fire neither ("ambiguous")."""
    from PySide6.QtGui import QAction, QShortcut

    owners = defaultdict(list)
    for a in window.findChildren(QAction):
        for s in a.shortcuts():
            owners[s.toString()].append(a.text())
    for sc in window.findChildren(QShortcut):
        owners[sc.key().toString()].append(f"{type(sc.parent()).__name__} shortcut")
    clashes = {k: v for k, v in owners.items() if k and len(v) > 1}
    assert not clashes, clashes
    assert owners["Ctrl+Shift+C"] and owners["Ctrl+Shift+V"]


def test_pasting_the_crop_when_asked_writes_the_sidecar(window, qtbot):
    """A copy that includes crop and straighten (the panel's groups) writes the pasted photos' XMP sidecars as a
    crop made by hand does; the default copy (tone and colour) leaves a photo's sidecar framing alone."""
    from piaa_desktop.core import xmp
    from piaa_desktop.core.sync import flush_pending

    cat = window.catalog
    ids = window.model.ids()
    cat.set_edit([ids[0]], MINE)
    cat.set_edit([ids[2]], THEIR_CROP)
    flush_pending(cat)
    panel = window.features.develop.panel
    panel.copy_settings(ids[0])
    window.select_ids([ids[1], ids[2]], ids[1])
    window.features.develop.paste_settings()
    flush_pending(cat)
    geo = xmp.read_geometry(cat.photo(ids[1]).path)
    assert geo is None or not geo["piaa"]  # no crop there, none written
    geo = xmp.read_geometry(cat.photo(ids[2]).path)
    assert geo["piaa"]["angle"] == 2.0 and geo["piaa"]["crop_top"] == 0.2  # its own crop, unchanged

    panel.copy_settings(ids[0], groups=("tone", "colour", "geometry"))
    assert panel.clipboard_words() == "tone, colour and crop"
    window.features.develop.paste_settings()
    flush_pending(cat)
    for pid in (ids[1], ids[2]):
        geo = xmp.read_geometry(cat.photo(pid).path)
        assert geo is not None and geo["piaa"]["crop_left"] == 0.1 and geo["piaa"]["angle"] == 0.0


def test_choose_what_to_copy_dialog_crop_included_on_request(window, qtbot):
    """Ctrl+Alt+C (Lightroom's Copy Settings dialog): tone and colour ticked, crop not; ticking the crop and
    unticking colour copies exactly that, and the dialog remembers the choice for the next time."""
    cat = window.catalog
    ids = window.model.ids()
    cat.set_edit([ids[0]], {**MINE, "vibrance": 25.0})
    window.select_ids([ids[0]], ids[0])
    window.grid.setFocus()
    QTest.keyClick(window.grid, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    dlg = window.features.develop.copy_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.groups() == ("tone", "colour")
    dlg.boxes["colour"].setChecked(False)
    dlg.boxes["tone"].setChecked(False)
    assert not dlg.copy_button.isEnabled()  # nothing ticked: nothing to copy
    dlg.boxes["tone"].setChecked(True)
    dlg.boxes["geometry"].setChecked(True)
    dlg.copy_button.click()
    panel = window.features.develop.panel
    assert set(panel.clipboard) == {p.name for p in D.REGISTRY if p.group in ("tone", "geometry")}
    assert "(tone and crop: " in window.status_label.text()
    window.select_ids([ids[1]], ids[1])
    _keys(window, window.grid, Qt.Key.Key_V)
    got = D.normalize_params(cat.get_edit(ids[1]))
    assert (got["exposure"], got["crop_left"], got["crop_right"], got["vibrance"]) == (0.8, 0.1, 0.9, 0.0)
    assert window.status_label.text().startswith("Pasted settings onto 1 photo (tone and crop)")
    dlg.close()
    window.select_ids([ids[0]], ids[0])
    again = window.features.develop.choose_and_copy()
    assert again.groups() == ("tone", "geometry")
    again.reject()
    assert set(panel.clipboard) == {p.name for p in D.REGISTRY if p.group in ("tone", "geometry")}  # cancel: kept


def test_paste_from_previous_photo(window, qtbot):
    """Ctrl+Alt+V (Lightroom's Paste from previous): the photo you were on before gives its tone and colour to
    the selected photos; the copy made with Ctrl+Shift+C is left as it was."""
    cat = window.catalog
    ids = window.model.ids()
    ctrl_alt = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
    window.select_ids([ids[0]], ids[0])
    QTest.keyClick(window.grid, Qt.Key.Key_V, ctrl_alt)  # the first photo: no previous one yet
    assert window.status_label.text() == "No previous photo yet: move to another photo first"
    cat.set_edit([ids[2]], {"contrast": -25.0, "saturation": 10.0})
    window.select_ids([ids[2]], ids[2])
    _keys(window, window.grid, Qt.Key.Key_C)  # a copy of something else, to be kept
    copied = dict(window.features.develop.panel.clipboard)
    cat.set_edit([ids[4]], MINE)
    window.select_ids([ids[4]], ids[4])
    window.select_ids([ids[5], ids[6]], ids[5])  # ids[4] was the photo before
    before = {pid: cat.get_edit(pid) for pid in ids}
    QTest.keyClick(window.grid, Qt.Key.Key_V, ctrl_alt)
    name = window.catalog.photo(ids[4]).path.rsplit("/", 1)[-1]
    assert window.status_label.text().startswith(f"Pasted the settings of {name} (the previous photo) onto 2 photos")
    for pid in (ids[5], ids[6]):
        got = D.normalize_params(cat.get_edit(pid))
        assert got["exposure"] == 0.8 and got["contrast"] == 20 and D.geometry_is_identity(got)
    assert window.features.develop.panel.clipboard == copied
    QTest.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert {pid: cat.get_edit(pid) for pid in ids} == before
