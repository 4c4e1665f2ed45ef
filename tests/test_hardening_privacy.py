"""No network, ever, at the syscall level (issue 12, item 4: ONNX Runtime telemetry).

The real app (offscreen) imports the bundled sample library, computes embeddings through onnxruntime and
keeps running ~15 s (ONNX Runtime's telemetry fired ~10 s after the first session) under
``strace -f -e trace=network``. No connect/send may reach a non-local address or a DNS server, and
nothing may appear under ``$HOME/.cache/Microsoft`` (HOME is a temporary folder).
"""
from __future__ import annotations

import ipaddress
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STRACE = shutil.which("strace")
RUN_SECONDS = 15

APP = textwrap.dedent(
    r"""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication(sys.argv[:1])
    QTimer.singleShot(int(sys.argv[3]) * 1000, app.quit)
    from piaa_desktop.gui.app import main
    sys.exit(main(["--data-dir", sys.argv[1], sys.argv[2]]))
    """
)


def test_item4_package_root_turns_onnxruntime_telemetry_off():
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    code = (
        "import os, sys\n"
        "import piaa_desktop.core.embeddings\n"  # any module of the app: the package root runs first
        "assert 'onnxruntime' not in sys.modules or os.environ['ORT_DISABLE_TELEMETRY'] == '1'\n"
        "print(os.environ.get('ORT_DISABLE_TELEMETRY'))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


def _strace_works() -> str:
    if STRACE is None:
        return "strace is not installed (apt-get install strace)"
    try:
        r = subprocess.run([STRACE, "-f", "-o", os.devnull, "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"strace cannot run here: {exc}"
    if r.returncode != 0:
        return f"strace cannot trace here (ptrace not permitted?): {r.stderr.strip()[:200]}"
    return ""


_ADDR4 = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_ADDR6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')
_UNIX = re.compile(r'sa_family=AF_UNIX, sun_path=(@?"[^"]*")')


def outside_traffic(log: str) -> list[str]:
    """strace lines that reach a non-loopback address, a DNS server, or the name service cache."""
    bad = []
    for line in log.splitlines():
        call = re.search(r"\b(connect|sendto|sendmsg|sendmmsg)\(", line)
        if not call:
            continue
        for rx in (_ADDR4, _ADDR6):
            for port, addr in rx.findall(line):
                ip = ipaddress.ip_address(addr.split("%")[0])
                if int(port) == 53 or not (ip.is_loopback or ip.is_unspecified):
                    bad.append(line.strip())
        for path in _UNIX.findall(line):
            if "nscd" in path or "resolve" in path:
                bad.append(line.strip())
    return bad


def test_outside_traffic_parser_sees_what_it_must():
    log = "\n".join([
        '12 connect(3, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("20.42.65.92")}, 16) = -1',
        '12 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0',
        '12 connect(4, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "2603:1030::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
        '12 connect(5, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT',
        '12 connect(6, {sa_family=AF_INET, sin_port=htons(6000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        '12 connect(7, {sa_family=AF_UNIX, sun_path=@"/tmp/.X11-unix/X0"}, 20) = 0',
    ])
    assert len(outside_traffic(log)) == 4


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="strace is Linux only")
def test_item4_gui_makes_no_outside_connection_under_strace(tmp_path):
    pytest.importorskip("PySide6")
    pytest.importorskip("onnxruntime")
    why = _strace_works()
    if why:
        pytest.skip(why)
    home = tmp_path / "home"
    home.mkdir()
    lib = tmp_path / "lib"
    shutil.copytree(REPO / "resources" / "sample_library", lib)
    data = tmp_path / "data"
    log = tmp_path / "strace.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ORT_"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="2",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [STRACE, "-f", "-qq", "-e", "trace=network", "-o", str(log),
           sys.executable, "-c", APP, str(data), str(lib), str(RUN_SECONDS)]
    r = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    # the run really reached onnxruntime: embeddings were computed for the sample photos
    from piaa_desktop.core.paths import app_paths

    conn = sqlite3.connect(str(app_paths(data).catalog))
    try:
        n_emb = conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    finally:
        conn.close()
    assert n_emb >= 5, "the app did not get as far as running onnxruntime"
    bad = outside_traffic(log.read_text(errors="replace"))
    assert bad == [], "network traffic leaving the machine:\n" + "\n".join(bad[:20])
    assert not (home / ".cache" / "Microsoft").exists(), list((home / ".cache" / "Microsoft").rglob("*"))
    assert not [p for p in home.rglob("*") if "microsoft" in p.name.lower()]
