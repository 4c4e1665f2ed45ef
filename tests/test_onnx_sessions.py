"""Every onnxruntime session of the app is made by one helper (core.models.ort_session_options): threads that
sleep when idle, not spin. Spinning threads burn CPU the GUI, decoding and other jobs need (measured: the
faces models took 2-2.5x the CPU with spinning on this 2-core machine)."""
from __future__ import annotations

import pytest

pytest.importorskip("onnxruntime")

SPIN_KEYS = ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning")


def _spinning(session) -> list[str]:
    opts = session.get_session_options()
    out = []
    for k in SPIN_KEYS:
        try:
            value = opts.get_session_config_entry(k)
        except RuntimeError:  # not set: onnxruntime's default, spinning
            value = None
        if value != "0":
            out.append(k)
    return out


def test_helper_turns_spinning_off_and_sets_threads():
    from piaa_desktop.core.models import ort_session_options

    so = ort_session_options(3)
    assert so.intra_op_num_threads == 3 and so.inter_op_num_threads == 1
    assert [so.get_session_config_entry(k) for k in SPIN_KEYS] == ["0", "0"]
    assert ort_session_options(0).intra_op_num_threads == 1


def test_backbone_faces_and_enhancer_sessions_do_not_spin():
    from piaa_desktop.core.embeddings import Backbone
    from piaa_desktop.core.enhance.model import load_shipped
    from piaa_desktop.core.faces import FaceAnalyzer

    assert _spinning(Backbone(threads=2).session) == []
    fa = FaceAnalyzer()
    for s in (fa._det, fa._lm, fa._bs):
        assert _spinning(s) == []
    assert _spinning(load_shipped().policy.session) == []
