"""The develop panel (pytest-qt, offscreen)."""
from __future__ import annotations

import numpy as np
import pytest

from piaa_desktop.core import develop as D

pytest.importorskip("pytestqt")


@pytest.fixture
def catalog(app_paths, imported_library):
    """The catalog of small_library's 12 photos (as the window imported them, once per worker; copied here)."""
    from piaa_desktop.core.catalog import open_catalog

    cat = open_catalog(app_paths)
    yield cat
    cat.close()


@pytest.fixture
def panel(qtbot, catalog, app_paths):
    from piaa_desktop.core.catalog import UndoStack
    from piaa_desktop.gui.develop_panel import DevelopPanel

    assert len(catalog.query_ids(sort="name")) == 12
    undo = UndoStack(catalog)
    w = DevelopPanel(catalog, undo, paths=app_paths)
    qtbot.addWidget(w)
    w.resize(400, 800)
    w.show()
    yield w
    w.shutdown()


def _proxy(catalog, pid):
    from PIL import Image

    return np.asarray(Image.open(catalog.photo(pid).path).convert("RGB"))


def test_slider_edit_persists_and_undoes(panel, catalog, qtbot):
    ids = catalog.query_ids(sort="name")[:3]
    panel.set_photos([ids[0]], _proxy(catalog, ids[0]))
    panel.wait_for_render()
    before = panel.last_rendered.copy()
    emitted, live = [], []
    panel.editsChanged.connect(emitted.append)
    panel.liveEdit.connect(lambda pid, p: live.append((pid, p)))
    s = panel.sliders["exposure"]
    s.slider.setValue(s.slider.value() + 10)  # +0.5 EV
    assert live and live[-1][0] == ids[0] and live[-1][1]["exposure"] == pytest.approx(0.5)  # for the loupe
    panel.commit()
    panel.wait_for_render()
    assert catalog.get_edit(ids[0])["exposure"] == pytest.approx(0.5)
    assert emitted and emitted[-1] == [ids[0]]
    assert panel.last_rendered.mean() > before.mean()
    assert panel.history.count() >= 1
    # before/after shows the original without touching the edit
    qtbot.keyClick(panel, "\\")
    panel.wait_for_render()
    assert panel.show_before and np.allclose(panel.last_rendered, before)
    panel.set_before(False)
    panel.undo()
    assert catalog.get_edit(ids[0]) is None
    assert panel.sliders["exposure"].value() == 0


def test_multi_selection_copy_paste_reset(panel, catalog):
    ids = catalog.query_ids(sort="name")[:3]
    catalog.set_edit([ids[1]], {"contrast": 30})
    panel.set_photos([ids[0], ids[1]], None)
    assert "2 photos" in panel.status.text()
    panel.sliders["saturation"].slider.setValue(40)
    panel.commit()
    assert catalog.get_edit(ids[0])["saturation"] == 40
    assert catalog.get_edit(ids[1])["saturation"] == 40 and catalog.get_edit(ids[1])["contrast"] == 30
    panel.copy_settings()
    panel.set_photos([ids[2]], None)
    panel.paste_settings()
    assert catalog.get_edit(ids[2])["saturation"] == 40
    panel.reset()
    assert catalog.get_edit(ids[2]) is None
    assert all(s.value() == s.param.default for s in panel.sliders.values())


def test_big_proxy_renders_off_thread(panel, catalog, qtbot):
    ids = catalog.query_ids(sort="name")[:1]
    big = np.repeat(np.repeat(_proxy(catalog, ids[0]), 3, axis=0), 3, axis=1)  # > INLINE_RENDER_PIXELS
    panel.set_photos(ids, big)
    panel.sliders["exposure"].slider.setValue(20)
    qtbot.waitUntil(lambda: panel.last_rendered is not None and panel.last_rendered.shape[0] == big.shape[0]
                    and panel.last_rendered.mean() > big.mean() / 255 + 0.02, timeout=10000)


def test_auto_enhance_button(panel, catalog):
    from piaa_desktop.core.models import load_manifest

    if "enhancer_policy" not in load_manifest()["models"]:
        pytest.skip("no shipped enhancer policy in models/")
    ids = catalog.query_ids(sort="name")[:2]
    panel.set_photos(ids, _proxy(catalog, ids[0]))
    panel.auto_enhance()
    assert panel.wait_for_auto(60000)
    src = catalog.edit_sources()
    for i in ids:
        assert src.get(i) == "auto" or catalog.get_edit(i) is None
    if catalog.get_edit(ids[0]):
        assert panel.sliders["exposure"].value() == pytest.approx(catalog.get_edit(ids[0])["exposure"], abs=0.05)


def test_crop_ratio_turn_and_score_hint(panel, catalog):
    """A fixed ratio crops the active photo only; turns follow; the crop's score is shown as a hint."""
    ids = catalog.query_ids(sort="name")[:2]
    catalog.set_edit([ids[1]], {"contrast": 30})
    panel.set_photos([ids[0], ids[1]], _proxy(catalog, ids[0]))
    panel.ratio_box.setCurrentText("1:1")
    e = catalog.get_edit(ids[0])
    ph = catalog.photo(ids[0])
    w, h = D.geometry_output_size(ph.width, ph.height, e)
    assert abs(w - h) <= 1
    assert catalog.get_edit(ids[1]) == {"contrast": 30} or D.geometry_is_identity(catalog.get_edit(ids[1]))
    panel.wait_for_render()
    assert abs(panel.last_rendered.shape[0] - panel.last_rendered.shape[1]) <= 1  # the proxy is cropped too
    panel.turn(1)
    assert catalog.get_edit(ids[0])["rotate"] == 1
    panel.flip()
    assert catalog.get_edit(ids[0])["flip"] == 1 and catalog.get_edit(ids[0])["rotate"] == 3
    panel.crop_btn.setChecked(True)
    assert panel.wait_for_hint(120000)
    hint = panel.last_hint
    assert hint is not None and 1 <= hint["crop"] <= 5 and 1 <= hint["whole"] <= 5
    assert hint["kind"] in ("generic", "personal") and "vs whole" in panel.hint.text()
    panel.reset_geometry()
    assert D.geometry_is_identity(catalog.get_edit(ids[0]))


def test_copy_and_paste_params_keep_the_photos_own_crop():
    """core.develop: a copy holds tone and colour by default (Lightroom: the crop is not copied); a paste replaces
    the copied settings and keeps the rest of the photo's own (its crop and straighten)."""
    src = {"exposure": 0.7, "vibrance": 15, "crop_left": 0.2, "angle": -3}
    copied = D.copy_params(src)
    assert copied["exposure"] == 0.7 and copied["vibrance"] == 15 and copied["contrast"] == 0
    assert not set(copied) & set(D.GEOMETRY_NAMES)
    mine = {"contrast": 40, "crop_top": 0.3, "rotate": 1}
    got = D.paste_params(mine, copied)
    assert (got["exposure"], got["vibrance"], got["contrast"]) == (0.7, 15, 0)  # the copied tone replaces mine
    assert (got["crop_top"], got["rotate"], got["crop_left"], got["angle"]) == (0.3, 1, 0.0, 0.0)
    assert D.paste_params(None, D.copy_params(None)) is None  # "as shot" onto an unedited photo: no edit
    assert D.paste_params({"bad": 1, "exposure": "x"}, copied)["exposure"] == 0.7  # unreadable: as none
    full = D.copy_params(src, ("tone", "colour", "geometry"))
    assert D.paste_params(mine, full) == D.normalize_params(src)
    with pytest.raises(ValueError, match="unknown settings group"):
        D.copy_params(src, ("crop",))
    assert D.copied_groups(copied) == ["tone", "colour"] and D.copied_groups(full)[-1] == "crop"


def test_copy_and_paste_buttons(panel, catalog):
    """The panel's Copy and Paste buttons (a click passes `checked` to its slot: it must not be taken for a photo)."""
    ids = catalog.query_ids(sort="name")[:3]
    catalog.set_edit([ids[0]], {"exposure": -0.4, "crop_left": 0.2})
    panel.set_photos([ids[0]], None)
    assert not panel.paste_btn.isEnabled()
    panel.copy_btn.click()
    assert panel.clipboard is not None and panel.clipboard["exposure"] == -0.4 and panel.clipboard_from == ids[0]
    assert panel.paste_btn.isEnabled() and "not its crop" in panel.copy_btn.toolTip()
    panel.set_photos([ids[1], ids[2]], None)
    panel.paste_btn.click()
    for pid in ids[1:]:
        got = D.normalize_params(catalog.get_edit(pid))
        assert got["exposure"] == -0.4 and got["crop_left"] == 0.0
