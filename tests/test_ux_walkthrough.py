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
