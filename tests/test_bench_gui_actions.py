"""benchmarks/gui_actions.py at a tiny catalog: the real window, every user action measured, JSON only on
stdout. Fails when an action is missing, has no numbers, errs or times out, or when the child crashes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gui_actions_bench_measures_every_action(tmp_path):
    sys.path.insert(0, str(REPO))
    from benchmarks.gui_actions import ACTIONS

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gui_actions.py"), "--n", "300", "--dir",
                        str(tmp_path / "d"), "--json", "--no-write", "--pace", "0.1"],
                       capture_output=True, text=True, cwd=str(REPO), env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-4000:]
    res = json.loads(r.stdout)  # nothing but JSON on stdout
    assert res["n"] == 300 and res["errors"] == {}
    assert res["window_active"] is True  # the shortcuts reached the window
    assert 0 < res["window_open_s"] < 60
    acts = res["actions"]
    missing = [k for k, _label in ACTIONS if k not in acts]
    assert not missing, missing
    for k, a in acts.items():
        assert not a.get("timed_out"), k  # the result of every action reached the screen
        for field in ("stall_ms", "cpu_in_gap_ms", "runqueue_in_gap_ms"):
            assert isinstance(a[field], (int, float)) and a[field] >= 0, (k, field)
        assert a["stall_ms"] > 0, k  # the heartbeat ran
    # actions with a clear end have a time to result
    for k in ("sort:generic", "refresh_order", "loupe_enter", "double_click", "rate_one", "search_type", "personal_update"):
        assert acts[k]["result_ms"] is not None and acts[k]["result_ms"] >= 0, k
    assert len(acts["rate_one"]["samples_stall_ms"]) == 5
    assert res["build"]["personal_model"].startswith("personal model")
