"""Originals are never written; no network; no write outside the export folder.

* The full workflow (import, rate, flag, edit, score, personalise when available, export originals,
  resized and with edits, recovery) runs in a child process under a Python audit hook that records every
  open-for-writing, rename, delete, truncate, chmod and utime touching the library: only XMP sidecars
  (ours to write) may appear; the originals' bytes and mtimes are compared before and after too.
* The same run has socket connect/bind/create_connection/getaddrinfo patched to fail and audited, and
  at the end lists the process's open sockets (none may be an internet socket; none may listen).
* Path traversal: hostile values in the catalog (file names, folders, cameras) and in XMP sidecars
  cannot make an export write outside the chosen folder (property-based).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from _reliability_helpers import PY, REPO, child_env, copy_library, file_hashes

WORKFLOW = textwrap.dedent(
    r'''
    import json, os, socket, sys
    data, lib, dest, report = sys.argv[1:5]
    LIB = os.path.realpath(lib)
    ORIGINALS = {os.path.realpath(os.path.join(r, f)) for r, _, fs in os.walk(LIB) for f in fs}
    writes, net = [], []
    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def in_lib(p):
        try:
            p = os.path.realpath(os.fsdecode(p))
        except (TypeError, ValueError):
            return False
        return p in ORIGINALS or (p.startswith(LIB + os.sep) and ".xmp" not in os.path.basename(p).lower())

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                return
            writing = bool((flags or 0) & WRITE_FLAGS) or bool(mode and any(c in str(mode) for c in "wax+"))
            if writing and in_lib(path):
                writes.append([event, os.fsdecode(path), str(mode)])
        elif event in ("os.rename", "os.replace", "os.link", "shutil.move"):
            for p in args[:2]:
                if isinstance(p, (str, bytes, os.PathLike)) and in_lib(p):
                    writes.append([event, os.fsdecode(p), ""])
        elif event == "shutil.copyfile" and in_lib(args[1]):
            writes.append([event, os.fsdecode(args[1]), ""])
        elif event in ("os.remove", "os.rmdir", "os.truncate", "os.chmod", "os.utime", "os.chown", "os.symlink"):
            p = args[0]
            if isinstance(p, (str, bytes, os.PathLike)) and in_lib(p):
                writes.append([event, os.fsdecode(p), ""])
        elif event.startswith("socket.") and event not in ("socket.gethostname",):
            net.append([event, repr(args)[:200]])

    sys.addaudithook(hook)

    def refuse(*a, **k):
        net.append(["patched-call", repr(a)[:200]])
        raise OSError("network access is not allowed in this test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.socket.bind = refuse
    socket.socket.listen = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from piaa_desktop.cli.main import main
    D = ["--data-dir", data, "-q"]
    rc = {}
    rc["scan"] = main(D + ["scan", lib])
    photos = sorted(p for p in os.listdir(lib) if p.endswith(".jpg"))
    rc["rate"] = main(D + ["rate", os.path.join(lib, photos[0]), os.path.join(lib, photos[1]), "5"])
    rc["flag"] = main(D + ["flag", os.path.join(lib, photos[2]), "reject"])
    rc["score"] = main(D + ["score", "--rescore", "--format", "csv"])

    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths
    paths = app_paths(data).ensure()
    cat = open_catalog(paths)
    ids = cat.query_ids()
    for k, pid in enumerate(ids):
        cat.set_rating([pid], 1 + k % 5)
    cat.set_color_label(ids[:2], "red")
    edits = False
    try:
        import piaa_desktop.core.develop as dev  # noqa: F401
        cat.set_edit(ids[:3], {"exposure": 0.4, "contrast": 15})
        edits = True
    except ImportError:
        pass
    personal = "skipped"
    try:
        from piaa_desktop.core.personal.operations import personalize
        personal = personalize(cat, paths).message
    except Exception as exc:  # the prior may not be shipped yet
        personal = f"skipped: {exc}"
    from piaa_desktop.core.recovery import recover
    recover(cat, paths)
    from piaa_desktop.core.sync import sync_sidecar
    for pid in ids:
        sync_sidecar(cat, pid)
    cat.close()
    rc["export"] = main(D + ["export", dest + "/originals", "--all"])
    rc["export_resized"] = main(D + ["export", dest + "/small", "--all", "--long-edge", "200", "--embed-xmp"])
    if edits:
        rc["export_edits"] = main(D + ["export", dest + "/edited", "--all", "--edits"])
    rc["models"] = main(D + ["models"])
    rc["errors"] = main(D + ["errors"])
    rc["rescan"] = main(D + ["scan", lib])

    sockets = []
    if sys.platform.startswith("linux"):
        inodes = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                t = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes[t[8:-1]] = fd
        for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
            try:
                lines = open(f"/proc/self/net/{table}").read().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                f = line.split()
                if f[9] in inodes:
                    sockets.append([table, f[1], f[3]])  # local address, state (0A = LISTEN)
        sockets.append(["all-socket-fds", str(len(inodes)), ""])
    json.dump({"rc": rc, "writes": writes, "net": net, "sockets": sockets, "personal": personal,
               "edits": edits}, open(report, "w"))
    '''
)


def test_workflow_never_writes_originals_and_never_uses_the_network(tmp_path, photos_dir):
    lib = tmp_path / "library"
    copy_library(photos_dir, lib, 300, 8)
    (lib / "nested").mkdir()
    copy_library(photos_dir, lib / "nested", 310, 2)
    before = file_hashes(lib)
    data, dest, report = tmp_path / "data", tmp_path / "export", tmp_path / "report.json"
    r = subprocess.run([PY, "-c", WORKFLOW, str(data), str(lib), str(dest), str(report)], cwd=str(REPO),
                       env=child_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads(report.read_text())
    assert all(v == 0 for v in rep["rc"].values()), rep["rc"]
    assert rep["writes"] == [], f"the library's originals were opened for writing: {rep['writes']}"
    assert file_hashes(lib) == before  # bytes and mtimes of every original unchanged
    assert rep["net"] == [], f"network use: {rep['net']}"
    if sys.platform.startswith("linux"):
        inet = [s for s in rep["sockets"] if s[0] != "all-socket-fds"]
        assert inet == [], f"internet sockets open: {inet}"
        assert not [s for s in inet if s[2] == "0A"], "a listening port was opened"
    # the export really happened (so the checks above covered it)
    assert len(list((dest / "originals").glob("*.jpg"))) == 9  # --all leaves the rejected photo out
    assert len(list((dest / "small").glob("*.jpg"))) == 9
    # sidecars are the only new files beside the originals
    new = {str(p) for p in lib.rglob("*") if p.is_file()} - set(before)
    assert new and all(p.endswith(".xmp") for p in new), new


GUI_NET = textwrap.dedent(
    r'''
    import json, os, socket, sys
    net = []
    sys.addaudithook(lambda e, a: net.append([e, repr(a)[:200]]) if e.startswith("socket.") and e != "socket.gethostname" else None)
    def refuse(*a, **k):
        net.append(["patched-call", repr(a)[:200]])
        raise OSError("network access is not allowed")
    socket.socket.connect = socket.socket.bind = socket.create_connection = socket.getaddrinfo = refuse
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.settings import load_settings
    from piaa_desktop.gui.main_window import MainWindow
    paths = app_paths(sys.argv[1]).ensure()
    w = MainWindow(paths, settings=load_settings(paths))
    w.show()
    QTimer.singleShot(0, lambda: w.features.importing.import_folder(sys.argv[2]))
    QTimer.singleShot(6000, app.quit)
    app.exec()
    inet = []
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            t = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in open(f"/proc/self/net/{table}").read().splitlines()[1:]:
            f = line.split()
            if f[9] in inodes:
                inet.append([table, f[1], f[3]])
    print(json.dumps({"net": net, "inet": inet}))
    w.close()
    '''
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_gui_opens_no_network_port(tmp_path, photos_dir):
    pytest.importorskip("PySide6")
    try:
        import piaa_desktop.gui.main_window  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"piaa_desktop.gui.main_window not importable yet: {exc}")
    lib = tmp_path / "lib"
    copy_library(photos_dir, lib, 320, 4)
    r = subprocess.run([PY, "-c", GUI_NET, str(tmp_path / "data"), str(lib)], cwd=str(REPO),
                       env=child_env(QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["net"] == [] and out["inet"] == [], out


# ---------------------------------------------------------------------------------------------- traversal
HOSTILE = st.sampled_from([
    "..", "../..", "../../outside", "/etc", "/tmp/evil", "..\\..\\evil", "C:\\Windows\\x", "a/../../b", "~",
    "~/x", ".", "...", "con", "nul.txt", "x\x00y", "name\nnewline", "\u202eevil", "%2e%2e%2f", "////",
])
TEMPLATES = st.sampled_from([
    "{camera}/{name}", "{folder}/{name}", "{camera}_{folder}_{name}", "{year}/{month}/{camera}/{name}",
    "{name}", "{date}_{rank:03d}_{name}",
])


@pytest.fixture
def traversal_setup(tmp_path, catalog, app_paths, photos_dir):
    from piaa_desktop.core.scanner import scan_folder

    root = tmp_path / "root"
    lib = root / "lib"
    (lib / "sub").mkdir(parents=True)
    src = sorted(photos_dir.glob("*.jpg"))[330].read_bytes()
    names = ["ok.jpg", "..\\..\\evil.jpg", "...jpg", "-rf.jpg", " .jpg"]
    for n in names:
        (lib / n).write_bytes(src)
    res = scan_folder(catalog, lib, app_paths.thumbnails, workers=2)
    assert len(res.new) == 3  # names starting with '.' are hidden files: not imported (the catalog gets them below)
    keep = min(res.new)
    catalog.conn.execute("DELETE FROM photos WHERE id<>?", (keep,))  # one photo whose path the test rewrites
    outside = root / "outside"
    outside.mkdir()
    return {"root": root, "lib": lib, "outside": outside, "names": names}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(camera=HOSTILE, folder_trick=st.booleans(), template=TEMPLATES, name_idx=st.integers(0, 4))
def test_export_never_writes_outside_the_folder(traversal_setup, catalog, tmp_path, camera, folder_trick, template, name_idx):
    from piaa_desktop.core import export as E

    s = traversal_setup
    pid = catalog.query_ids()[0]
    name = s["names"][name_idx]
    # the catalog says the photo lives at a path with '..' components (an edited or hostile catalog)
    src = (s["lib"] / "sub" / ".." / name) if folder_trick else (s["lib"] / name)
    catalog.conn.execute("UPDATE photos SET path=?, camera=? WHERE id=?", (str(src), camera, pid))
    dest = s["root"] / "export"
    before = sorted(str(p) for p in s["root"].rglob("*") if "export" not in p.parts)
    try:
        rep = E.export_photos(catalog, [pid], dest, E.ExportOptions(template=template, write_report=False))
    except ValueError:
        return  # a refused template is fine
    for row in rep.rows:
        if row.dest:
            assert Path(row.dest).resolve().is_relative_to(dest.resolve()), row.dest
    after = sorted(str(p) for p in s["root"].rglob("*") if "export" not in p.parts)
    assert after == before, set(after) ^ set(before)
    assert list(s["outside"].iterdir()) == []
    for p in dest.rglob("*"):
        assert p.resolve().is_relative_to(dest.resolve())


def test_hostile_xmp_sidecar_cannot_steer_writes(tmp_path, catalog, app_paths, photos_dir):
    from piaa_desktop.core import export as E
    from piaa_desktop.core.scanner import scan_folder
    from piaa_desktop.core.sync import import_sidecar

    lib = tmp_path / "lib"
    photos = copy_library(photos_dir, lib, 340, 1)
    outside = tmp_path / "outside"
    outside.mkdir()
    hostile = f"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
 xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmp:Rating="4" xmp:Label="../../{outside.name}/evil"
 crs:RawFileName="../../{outside.name}/evil.jpg" xmpMM:DerivedFrom="{outside}/evil.jpg"/>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""
    sidecar = Path(str(photos[0]) + ".xmp")
    sidecar.write_text(hostile)
    res = scan_folder(catalog, lib, app_paths.thumbnails, workers=2)
    pid = res.new[0]
    import_sidecar(catalog, pid)
    p = catalog.photo(pid)
    assert p.rating == 4
    assert p.color_label is None or "/" not in p.color_label
    dest = tmp_path / "export"
    rep = E.export_photos(catalog, [pid], dest, E.ExportOptions(template="{name}", embed_xmp=True))
    assert rep.exported == 1
    assert list(outside.iterdir()) == []
    assert all(q.resolve().is_relative_to(dest.resolve()) for q in dest.rglob("*"))
