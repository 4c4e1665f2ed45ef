"""What a photographer's walkthrough of the real app found, each held by a test (tests of the GUI drive the real
main window offscreen; the photos are the bundled sample library and edits of it made here)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from piaa_desktop.core import faces as F
from piaa_desktop.core.sample import sample_library_dir

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "resources" / "screenshots"


@pytest.fixture(scope="module")
def faces_script():
    sys.path.insert(0, str(SCREENSHOTS))
    try:
        import make_faces_screenshot

        yield make_faces_screenshot
    finally:
        sys.path.remove(str(SCREENSHOTS))


def test_readme_faces_photo_has_eyes_closed_at_the_shipped_threshold(faces_script):
    """faces.png (README) shows an "eyes closed" badge on astronaut_blink.jpg: the edit its script makes must be
    flagged by the real analyzer at the shipped BLINK_THRESHOLD, with a margin (JPEG-saved as the script does),
    while the unedited photo stays open."""
    import io

    from PIL import Image

    a = F.get_analyzer()
    src = F.load_rgb(sample_library_dir() / "astronaut.jpg")
    assert [f.eyes for f in a.analyze(src)] == ["open"]
    pts, _ = a.landmarks(src, a.detect(src)[0])
    shut = faces_script.close_eyes(src, pts)
    assert shut.shape == src.shape and shut.dtype == np.uint8
    buf = io.BytesIO()
    Image.fromarray(shut).save(buf, "JPEG", quality=92)
    faces = a.analyze(np.asarray(Image.open(buf).convert("RGB")))
    assert len(faces) == 1
    assert faces[0].eyes == "closed"
    assert faces[0].blink >= F.BLINK_THRESHOLD + 0.05, faces[0].blink
    # only the eyes changed: the rest of the face (mouth, cheeks) is untouched
    y0 = int(pts[:, 1].max())
    assert np.array_equal(shut[y0 + 5 :], src[y0 + 5 :])


def _stats(clip_low: float, clip_high: float):
    from piaa_desktop.core.histogram import HistogramStats

    return HistogramStats(hist=np.full((4, 256), 1 / 256, np.float32), clip_high=clip_high, clip_low=clip_low)


def test_loupe_histogram_clipping_words_never_overlap(qtbot):
    """A RAW of a dark room with a bright screen clips both ends: "0.1 % shadows clipped" and "0.8 % highlights
    clipped" were drawn over each other in the loupe's histogram (each as wide as the histogram)."""
    from PySide6.QtGui import QFontMetrics

    from piaa_desktop.gui.loupe import LoupeImageView, clip_labels

    view = LoupeImageView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    r = view.histogram_rect()
    fm = QFontMetrics(view._font)

    def inked(rect, align, text):  # where the text's pixels are: its advance, from the aligned side
        adv = fm.horizontalAdvance(text)
        return (rect.left(), rect.left() + adv) if align & Qt_left() else (rect.right() - adv, rect.right())

    both = clip_labels(r, _stats(0.001, 0.008), fm)
    assert [t for *_x, t, _c in both][0].startswith("0.1 %") and [t for *_x, t, _c in both][1].startswith("0.8 %")
    (ra, aa, ta, _), (rb, ab, tb, _) = both
    a, b = inked(ra, aa, ta), inked(rb, ab, tb)
    assert a[1] < b[0], (ta, tb, a, b)  # a gap between the shadows' words and the highlights'
    assert r.left() <= a[0] and b[1] <= r.right()
    assert "shadows" in ta and "highlights" in tb  # still says which end
    # one end alone keeps the whole sentence
    (one,) = clip_labels(r, _stats(0.0, 0.151), fm)
    assert one[2] == "15.1 % highlights clipped"
    assert clip_labels(r, _stats(0.0, 0.0), fm) == []


def Qt_left():
    from PySide6.QtCore import Qt

    return Qt.AlignmentFlag.AlignLeft


def test_why_line_speaks_a_photographers_words(qtbot):
    """The Info panel's "Why, for your taste" showed catalog column names ("subject offset", "clip low") and
    rows that round to nothing ("▲ subject offset +0.00 · ▼ brightness -0.00")."""
    from piaa_desktop.core.personal.operations import EMBEDDING_LABEL
    from piaa_desktop.gui.side_panel import SidePanel

    panel = SidePanel()
    qtbot.addWidget(panel)
    panel.set_explanation([("overall appeal", 0.19), ("contrast", -0.012), ("subject_offset", 0.004),
                           ("brightness", -0.001), (EMBEDDING_LABEL, 0.03), ("clip_low", -0.05)], set())
    text = panel.why_label.text()
    assert "overall appeal +0.19" in text and "contrast -0.01" in text
    assert "content &amp; style +0.03" in text or "content & style +0.03" in text
    assert "crushed shadows -0.05" in text
    for bad in ("+0.00", "-0.00", "subject offset", "subject_offset", "clip low", "clip_low", "embedding"):
        assert bad not in text, bad
    # nothing but zeros: no "Why" line at all
    panel.set_explanation([("subject_offset", 0.001), ("brightness", -0.002)], set())
    assert "Why" not in panel.why_label.text() and panel.why_label.isHidden()


def test_crop_handles_are_not_hidden_under_the_histogram(qtbot):
    """With Crop on (Shift+R) the loupe's histogram covered the crop's top-right handle: the handle must be drawn
    where the photographer grabs it, and the histogram comes back when the crop tool is off."""
    from PySide6.QtGui import QColor, QImage

    from piaa_desktop.gui.crop_tool import CropOverlay
    from piaa_desktop.gui.loupe import LoupeImageView

    view = LoupeImageView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    img = QImage(1200, 600, QImage.Format.Format_RGB32)  # wider than the view: the photo reaches the top right
    img.fill(QColor(90, 90, 90))
    view.set_image(img)
    view.stats = _stats(0.0, 0.0)
    view.show()
    qtbot.waitExposed(view)
    view.crop_tool = CropOverlay(view)
    view.crop_active = True
    r = view.image_rect()
    assert view.histogram_rect().intersects(r.adjusted(r.width() - 12, 0, 0, 12 - r.height()))  # the overlap
    assert not view.histogram_visible()
    shot = view.grab().toImage()
    corner = shot.pixelColor(int(r.right()) - 2, int(r.top()) + 2)
    assert corner.lightness() > 200, corner.name()  # the white handle, not the histogram's dark box
    view.crop_active = False
    assert view.histogram_visible()
    shot = view.grab().toImage()
    assert shot.pixelColor(int(r.right()) - 2, int(r.top()) + 2).lightness() < 60  # the histogram is back


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_toolbar_has_no_grey_box_between_the_filters_and_the_search(qtbot, qapp, tmp_path, theme):
    """The stretch between the Flag filter and the search bar was painted as a box in the themes' widget grey
    (every screenshot of the main window showed it): it must take the toolbar's own colour."""
    from PySide6.QtWidgets import QWidget

    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.gui.main_window import MainWindow
    from piaa_desktop.gui.theme import apply_theme

    old = qapp.styleSheet(), qapp.palette(), qapp.style().name()
    try:
        apply_theme(qapp, theme)
        w = MainWindow(app_paths(tmp_path / "data"))
        qtbot.addWidget(w)
        w.resize(1280, 800)
        w.show()
        qtbot.waitExposed(w)
        spacer = w.toolbar.findChild(QWidget, "ToolbarSpacer")
        assert spacer is not None and spacer.isVisible() and spacer.width() > 20
        img = w.toolbar.grab().toImage()
        g = spacer.geometry()
        inside = img.pixelColor(g.center().x(), g.center().y())
        # the toolbar's background, left of its first widget (the toolbar's own padding)
        bar = img.pixelColor(1, g.center().y())
        assert inside.name() == bar.name(), (inside.name(), bar.name())
    finally:
        qapp.setStyleSheet(old[0])
        qapp.setPalette(old[1])
        qapp.setStyle(old[2])


def test_export_says_what_it_takes_without_contradiction():
    """The export dialog and `piaa export --picks` said "all, ordered by your personal score, picks only, ... (the
    generic score where there is no personal model yet)" with a personal model in place: "all" and "picks only"
    at once, and a caveat that did not apply."""
    from piaa_desktop.core.export import ExportOptions, describe_selection

    picks = ExportOptions(picks=True, score_kind="personal")
    text = describe_selection(picks, "the 67 photos shown", personal_model=True)
    assert text == "the picks, ordered by your personal score, from the 67 photos shown"
    text = describe_selection(picks, "", personal_model=False)
    assert text == "the picks, ordered by the generic score (no personal model yet), from the whole library"
    stars = describe_selection(ExportOptions(min_stars=4, score_kind="personal"), "", personal_model=True)
    assert stars == "the photos with 4 stars and up, ordered by your personal score, rejects left out, from the whole library"
    everything = describe_selection(ExportOptions(score_kind="generic"))
    assert everything == "all photos, ordered by the generic score, rejects left out, from the whole library"
    best = describe_selection(ExportOptions(top_n=10, picks=True, score_kind="personal"), 'folder "lib"', personal_model=True)
    assert best == 'the best 10 by your personal score, picks only, from folder "lib"'
    for t in (text, stars, everything, best):
        assert not ("all" in t.split() and "only" in t.split()), t


def test_cli_export_names_the_ranking_it_uses(tmp_path, capsys):
    """`piaa export --picks` on a library without a personal model says the ranking is the generic score."""
    import shutil

    from piaa_desktop.cli.main import main

    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("coffee.jpg", "chelsea_the_cat.jpg"):
        shutil.copy(sample_library_dir() / name, lib / name)
    d = ["--data-dir", str(tmp_path / "d")]
    assert main(d + ["scan", str(lib)]) == 0
    assert main(d + ["flag", str(lib / "coffee.jpg"), "pick"]) == 0
    capsys.readouterr()
    assert main(d + ["export", str(tmp_path / "out"), "--picks", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "exporting the picks, ordered by the generic score (no personal model yet), from the whole library: 1 photo" in err


def _window(qtbot, paths):
    from piaa_desktop.gui.main_window import MainWindow

    w = MainWindow(paths)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def _type_search(qtbot, w, text: str) -> None:
    from PySide6.QtTest import QTest

    bar = w.features.library.search_bar
    with qtbot.waitSignal(w.features.library.searchFinished, timeout=10_000):
        if not text:
            bar.set_text("")
        else:
            bar.edit.setFocus()
            bar.edit.selectAll()
            QTest.keyClicks(bar.edit, text)
    qtbot.wait(20)


def test_empty_search_result_does_not_ask_to_import_and_a_fixed_search_clears_its_error(qtbot, app_paths,
                                                                                        imported_library):
    """A search that matched nothing left the Info panel saying "Import a folder with File › Import folder…" in a
    library of photos; and a mistyped search's error ("Search: rating: '>4' is not a number") stayed in the status
    bar after the search was corrected or cleared."""
    from PySide6.QtTest import QTest

    w = _window(qtbot, app_paths)
    qtbot.waitUntil(lambda: w.model.rowCount() == 12, timeout=10_000)
    _type_search(qtbot, w, "name:no_photo_is_called_this")
    assert w.model.rowCount() == 0
    hint = w.side_panel.sub_label
    assert "Import" not in hint.text() and "matches" in hint.text() and hint.isVisibleTo(w.side_panel)

    bar = w.features.library.search_bar
    bar.edit.selectAll()
    QTest.keyClicks(bar.edit, "rating:>>4")
    qtbot.waitUntil(lambda: w.status_text().startswith("Search:"), timeout=10_000)
    _type_search(qtbot, w, "")
    assert w.model.rowCount() == 12
    assert not w.status_text().startswith("Search:"), w.status_text()


def _scanned_coffee(tmp_path, capsys):
    """A one-photo library (the sample coffee.jpg in ``tmp_path/lib``) scanned by `piaa scan`, its output
    read; returns the folder and the global options naming the data dir."""
    import shutil

    from piaa_desktop.cli.main import main

    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(sample_library_dir() / "coffee.jpg", lib / "coffee.jpg")
    d = ["--data-dir", str(tmp_path / "d")]
    assert main(d + ["scan", "--no-embeddings", str(lib)]) == 0
    capsys.readouterr()
    return lib, d


def test_cli_errors_says_when_nothing_was_skipped(tmp_path, capsys):
    """`piaa errors` on a clean import printed nothing at all: silence that reads as "did it run?"."""
    from piaa_desktop.cli.main import main

    lib, d = _scanned_coffee(tmp_path, capsys)
    assert main(d + ["errors"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "no skipped files" in err
    (lib / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert main(d + ["scan", "--no-embeddings", str(lib)]) == 0
    capsys.readouterr()
    assert main(d + ["errors"]) == 0
    out, err = capsys.readouterr()
    assert "broken.jpg" in out and "no skipped files" not in err


def test_score_cards_name_their_model_in_words(qtbot):
    """The score cards' captions read "out of 5 · model prior-2026-11-27T13:52:08" and "model personal-v4": ids a
    photographer cannot read. In words now; the exact id stays in the tooltip."""
    from piaa_desktop.gui.side_panel import SidePanel

    panel = SidePanel()
    qtbot.addWidget(panel)
    dist = [0.05, 0.15, 0.5, 0.25, 0.05]
    panel.generic_card.set_score({"score": 3.1, "distribution": dist, "model_version": "prior-2026-11-27T13:52:08"})
    panel.personal_card.set_score({"score": 3.6, "distribution": dist, "model_version": "personal-v4"})
    assert panel.generic_card.caption.text() == "out of 5 · generic model of 2026-11-27"
    assert panel.personal_card.caption.text() == "out of 5 · version 4 of your model"
    assert panel.personal_card.caption.toolTip() == "personal-v4"
    for card in (panel.generic_card, panel.personal_card):
        assert "prior-" not in card.caption.text() and "-v4" not in card.caption.text()


def test_import_status_says_what_happened_not_a_row_of_zeros(qtbot, app_paths, small_library):
    """After importing a folder the status bar read "Imported lib: 67 new, 0 changed, 0 moved, 0 missing,
    0 unchanged, 0 skipped in 14.3 s": it says what happened ("12 new"); `piaa scan` keeps every count."""
    import re

    from piaa_desktop.core.scanner import ScanResult

    assert ScanResult(new=[1, 2], unchanged=5).summary(only_nonzero=True) == "2 new, 5 unchanged"
    assert ScanResult().summary(only_nonzero=True) == "no photos found"
    assert ScanResult(new=[1]).summary() == "1 new, 0 changed, 0 moved, 0 missing, 0 unchanged, 0 skipped"

    w = _window(qtbot, app_paths)
    with qtbot.waitSignal(w.importFinished, timeout=300_000):
        assert w.features.importing.import_folder(small_library) is not None
    assert re.fullmatch(r"Imported library: 12 new in \d+\.\d s", w.status_text()), w.status_text()


def test_develop_history_speaks_the_panels_words(qtbot, app_paths, imported_library):
    """The Develop panel's History read "16:00:36 user: crop_top +0.0781, crop_bottom +0.9..." (stored names, the
    crop as four numbers, "user:"): now "Crop", "Straighten +2°", "Exposure +0.5", and a tooltip with all of it."""
    from PIL import Image

    from piaa_desktop.core.catalog import UndoStack, open_catalog
    from piaa_desktop.gui.develop_panel import DevelopPanel

    cat = open_catalog(app_paths)
    try:
        pid = cat.query_ids(sort="name")[0]
        panel = DevelopPanel(cat, UndoStack(cat), paths=app_paths)
        qtbot.addWidget(panel)
        panel.resize(400, 800)
        panel.show()
        panel.set_photos([pid], np.asarray(Image.open(cat.photo(pid).path).convert("RGB")))
        s = panel.sliders["exposure"]
        s.slider.setValue(s.slider.value() + 10)  # +0.5 EV
        panel.commit()
        panel.set_geometry({**panel.params, "crop_left": 0.1, "crop_top": 0.1, "crop_right": 0.9, "crop_bottom": 0.9})
        panel.set_geometry({**panel.params, "angle": 2.0})
        texts = [panel.history.item(k).text() for k in range(panel.history.count())]
        assert len(texts) == 3, texts
        assert texts[0].endswith("Straighten +2°") and texts[1].endswith("Crop") and texts[2].endswith("Exposure +0.5")
        for t in texts:
            assert "user" not in t and "crop_" not in t and "angle" not in t, t
        panel.shutdown()
    finally:
        cat.close()


def test_collapse_stacks_says_what_it_did(qtbot, app_paths, imported_library):
    """Ctrl+G (collapse stacks) on photos without bursts changed nothing on screen and said nothing."""
    w = _window(qtbot, app_paths)
    qtbot.waitUntil(lambda: w.model.rowCount() == 12, timeout=10_000)
    w.set_collapse_stacks(True)
    hidden = 12 - w.model.rowCount()
    if hidden:
        assert w.status_text().startswith(f"Stacks collapsed: {hidden} photo"), w.status_text()
    else:
        assert w.status_text().startswith("No stacks here"), w.status_text()
    w.set_collapse_stacks(False)
    assert w.model.rowCount() == 12 and w.status_text() == "Stacks expanded: every photo shown"


def test_cli_names_a_mistyped_path_as_such(tmp_path, capsys):
    """`piaa rate lib/nonexist.jpg 3` said "not in the catalog ... (run 'piaa scan FOLDER' first)": for a path
    that does not exist the advice is to check it, not to scan."""
    import shutil

    from piaa_desktop.cli.main import main

    lib, d = _scanned_coffee(tmp_path, capsys)
    assert main(d + ["rate", str(lib / "cofee.jpg"), "3"]) == 3
    err = capsys.readouterr().err
    assert "no such file" in err and "scan" not in err
    shutil.copy(sample_library_dir() / "coffee.jpg", lib / "new.jpg")  # on disk, not imported yet
    assert main(d + ["rate", str(lib / "new.jpg"), "3"]) == 3
    err = capsys.readouterr().err
    assert "piaa scan" in err and "no such file" not in err


def test_info_panel_capture_time_reads_like_the_rest(qtbot):
    """The Info panel said "Captured 2019-06-06T07:29:51" (ISO's T) or "unknown" where every other missing field
    says "–"."""
    from piaa_desktop.core.catalog import Photo
    from piaa_desktop.gui.side_panel import SidePanel

    panel = SidePanel()
    qtbot.addWidget(panel)
    base = dict(id=1, path="/p/a.dng", folder_id=1, content_hash="x", size=1000, mtime=0.0, width=1224, height=816,
                format="DNG", capture_time="2019-06-06T07:29:51", camera="Canon EOS 6D", lens=None, iso=1000,
                shutter=1 / 60, aperture=5.6, focal_length=65.0, orientation=1, missing=0, rating=0, flag=0,
                color_label=None)
    panel.show_photo(Photo(**base))
    assert panel.exif_labels["captured"].text() == "2019-06-06 07:29:51"
    panel.show_photo(Photo(**{**base, "capture_time": None}))
    assert panel.exif_labels["captured"].text() == "–" == panel.exif_labels["lens"].text()


def test_grid_badges_are_words_of_their_filter_labels():
    """An overexposed photo's thumbnail said "over": each badge must be a word the Flag filter's label uses
    ("blown" for "Overexposed (blown highlights)"), so the badge and the filter read as the same thing."""
    import re

    from piaa_desktop.core.flags import FLAG_BADGES, FLAG_LABELS, FLAG_NAMES

    for name in FLAG_NAMES:
        assert re.search(rf"\b{re.escape(FLAG_BADGES[name])}\b", FLAG_LABELS[name].lower()), (name, FLAG_BADGES[name])


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_disabled_default_button_does_not_look_live(qtbot, qapp, theme):
    """The export dialog's Export button (the default button) stayed bright blue while disabled (no folder chosen
    yet): the themes' ':default' rule came after ':disabled'. Disabled, it looks like any disabled button."""
    from PySide6.QtWidgets import QPushButton, QWidget, QHBoxLayout

    from piaa_desktop.gui.theme import apply_theme

    old = qapp.styleSheet(), qapp.palette(), qapp.style().name()
    try:
        apply_theme(qapp, theme)
        box = QWidget()
        qtbot.addWidget(box)
        lay = QHBoxLayout(box)
        live, dead, plain = QPushButton("Export"), QPushButton("Export"), QPushButton("Export")
        for b in (live, dead):
            b.setDefault(True)
        dead.setEnabled(False)
        plain.setEnabled(False)
        for b in (live, dead, plain):
            lay.addWidget(b)
        box.show()
        qtbot.waitExposed(box)

        def fill(b):
            img = b.grab().toImage()
            return img.pixelColor(4, img.height() // 2).name()

        assert fill(dead) == fill(plain), (fill(dead), fill(plain))
        assert fill(dead) != fill(live)
    finally:
        qapp.setStyleSheet(old[0])
        qapp.setPalette(old[1])
        qapp.setStyle(old[2])


def test_export_dialog_says_what_the_greyed_export_waits_for(qtbot, app_paths, imported_library, tmp_path):
    """With no folder chosen the Export button was simply disabled, with no word why."""
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.settings import Settings
    from piaa_desktop.gui.export_dialog import ExportDialog

    cat = open_catalog(app_paths)
    try:
        ids = cat.query_ids(sort="name")[:2]
        dlg = ExportDialog(cat, photo_ids=ids, settings=Settings())
        qtbot.addWidget(dlg)
        assert dlg.rb_selected.isChecked() and not dlg.export_btn.isEnabled()
        assert "Choose a folder" in dlg.status.text()
        dlg.dest_edit.setText(str(tmp_path / "out"))
        assert dlg.export_btn.isEnabled() and dlg.status.text() == ""
        dlg.close()
    finally:
        cat.close()


def test_keystroke_feedback_leaves_the_status_bar_results_stay(qtbot, app_paths, imported_library):
    """"Rated 1 photo ★★★★" or "Personal model updated from 3 ratings" stayed in the status bar for the rest of the
    session, whatever happened since: a quick action's feedback goes after a while (unless another message came);
    a result or an error stays."""
    w = _window(qtbot, app_paths)
    qtbot.waitUntil(lambda: w.model.rowCount() == 12, timeout=10_000)
    w.TRANSIENT_S = 2.0
    pid = w.model.ids()[0]
    w.select_ids([pid], pid)
    w.features.culling.set_rating(4)
    assert w.status_text() == "Rated 1 photo ★★★★"
    qtbot.waitUntil(lambda: w.status_text() == "", timeout=5_000)
    # a newer message is not cleared by an older one's timer
    w.features.culling.set_flag(1)
    qtbot.wait(1000)
    w.features.culling.set_flag(-1)
    qtbot.wait(1300)  # the first timer has fired: "Rejected" is newer and stays until its own
    assert w.status_text() == "Rejected 1 photo"
    qtbot.waitUntil(lambda: w.status_text() == "", timeout=5_000)
    w.say("Import failed: disk full")  # not transient
    qtbot.wait(2500)
    assert w.status_text() == "Import failed: disk full"


def test_cli_personalize_explains_its_number_in_words(tmp_path, capsys):
    """`piaa personalize` printed "cross-validated SROCC on your ratings: 0.272": a statistic's name, unexplained."""
    import shutil

    from piaa_desktop.cli.main import main
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths

    from PIL import Image

    lib = tmp_path / "lib"
    shutil.copytree(sample_library_dir(), lib, ignore=shutil.ignore_patterns("*.md"))
    for src in sorted(lib.glob("*.jpg")):  # 16 photos: each sample and a crop of it
        with Image.open(src) as im:
            w, h = im.size
            im.convert("RGB").crop((w // 6, h // 6, w, h)).save(lib / f"crop_{src.name}", quality=90)
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "scan", str(lib)]) == 0
    cat = open_catalog(app_paths(data))
    for i, p in enumerate(sorted(cat.photos(), key=lambda p: p.path)):
        cat.set_rating([p.id], 1 + i % 5)
    cat.close()
    capsys.readouterr()
    assert main(["--data-dir", str(data), "personalize"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "SROCC" in x)
    assert line.startswith("how well its order of your rated photos matches yours, on photos it had not seen: ")
    assert "(1 = the same order, 0 = unrelated" in line


def test_crop_score_hint_is_not_clipped(qtbot, app_paths, imported_library):
    """The crop's score hint ("Crop 2.81 vs whole 2.81 (generic score): about the same") sat in a third of the
    tools' width and wrapped to three lines that the panel cut at the top and bottom."""
    from PIL import Image

    from piaa_desktop.core.catalog import UndoStack, open_catalog
    from piaa_desktop.gui.develop_panel import DevelopPanel

    cat = open_catalog(app_paths)
    try:
        pid = cat.query_ids(sort="name")[0]
        panel = DevelopPanel(cat, UndoStack(cat), paths=app_paths)
        qtbot.addWidget(panel)
        panel.resize(330, 560)  # the Develop dock beside a 1280 x 800 window (its tab bar and title take the rest)
        panel.show()
        qtbot.waitExposed(panel)
        panel.set_photos([pid], np.asarray(Image.open(cat.photo(pid).path).convert("RGB")))
        panel.hint.setText("Crop 2.81 vs whole 2.81 (your personal score): about the same")
        qtbot.wait(100)
        h = panel.hint
        assert h.height() >= h.heightForWidth(h.width()), (h.height(), h.heightForWidth(h.width()))
        # the tools' whole width, and the room for the words reserved before they come (no relayout to catch up)
        assert h.width() >= 0.9 * panel.crop_btn.parentWidget().contentsRect().width() - 24, h.geometry()
        assert h.heightForWidth(h.width()) <= h.minimumHeight(), (h.heightForWidth(h.width()), h.minimumHeight())
        for b in (panel.crop_btn, panel.left_btn, panel.geo_reset_btn):
            assert not h.geometry().intersects(b.geometry()), b.text()
        panel.shutdown()
    finally:
        cat.close()


def test_develop_with_no_photo_offers_nothing_to_press(qtbot, app_paths, imported_library):
    """With no photo (a search that matched none) every Develop button was greyed but Before/After."""
    from piaa_desktop.core.catalog import UndoStack, open_catalog
    from piaa_desktop.gui.develop_panel import DevelopPanel

    cat = open_catalog(app_paths)
    try:
        panel = DevelopPanel(cat, UndoStack(cat), paths=app_paths)
        qtbot.addWidget(panel)
        panel.set_photos([], None)
        assert not panel.before_btn.isEnabled() and not panel.reset_btn.isEnabled()
        pid = cat.query_ids(sort="name")[0]
        panel.set_photos([pid], None)
        assert panel.before_btn.isEnabled()
        panel.shutdown()
    finally:
        cat.close()
