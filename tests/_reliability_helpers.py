"""Shared helpers of the tests/test_reliability_*.py files (not collected: no test_ prefix)."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def link_library(src_dir: Path, dest: Path, start: int = 0, count: int = 60) -> list[Path]:
    """Symlinks to photos of a folder (cheap; the originals stay untouched)."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for p in sorted(src_dir.glob("*.jpg"))[start : start + count]:
        link = dest / p.name
        if not link.exists():
            os.symlink(p, link)
        out.append(link)
    return out


def copy_library(src_dir: Path, dest: Path, start: int = 0, count: int = 12) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for p in sorted(src_dir.glob("*.jpg"))[start : start + count]:
        (dest / p.name).write_bytes(p.read_bytes())
        out.append(dest / p.name)
    return out


def file_hashes(folder: Path, skip_xmp: bool = True) -> dict[str, tuple[str, int]]:
    """sha256 and mtime_ns of every file under ``folder`` (XMP sidecars aside: they are ours to write)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink() or not p.is_file():
            continue
        if skip_xmp and ".xmp" in p.name.lower():
            continue
        out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


def integrity(db: Path) -> str:
    """PRAGMA integrity_check through a fresh connection (as the next start would see it)."""
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def cli(data_dir: Path, *args: str, env=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "-m", "piaa_desktop.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(REPO),
        env=env,
    )


def child_env(**extra) -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "2")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def personal_jobs():
    """The personal-score jobs, with the shipped prior loaded (a missing prior fails the test)."""
    from piaa_desktop.core.personal import operations as jobs
    from piaa_desktop.core.personal.heads import load_prior

    load_prior()
    return jobs
