"""Throughput benchmarks of core jobs (used by ``piaa bench import`` and ``benchmarks/import_speed.py``)."""
from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional

from piaa_desktop.core.jobs import ProgressCallback


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports KiB, macOS bytes)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if os.uname().sysname == "Darwin" else r / 1024


def import_benchmark(folder: os.PathLike | str, limit: int = 0, progress: Optional[ProgressCallback] = None) -> dict:
    """Import ``folder`` into a throw-away catalog; time the scan (hash, EXIF, thumbnail, signals) and
    the embedding stage separately. With ``limit``, only the first N photos (linked by symlink)."""
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.embeddings import extract_embeddings
    from piaa_desktop.core.imageio import is_candidate
    from piaa_desktop.core.scanner import scan_folder
    from piaa_desktop.core.scoring import score_library

    folder = Path(folder)
    with tempfile.TemporaryDirectory(prefix="piaa-bench-") as tmp:
        tmp = Path(tmp)
        src = folder
        if limit:
            src = tmp / "lib"
            src.mkdir()
            files = sorted(p for p in folder.iterdir() if p.is_file() and is_candidate(p))[:limit]
            for p in files:
                os.symlink(p.resolve(), src / p.name)
        cat = Catalog.open(tmp / "catalog.sqlite3")
        cache = tmp / "thumbs"
        t0 = time.perf_counter()
        res = scan_folder(cat, src, cache, progress=progress)
        t1 = time.perf_counter()
        n_emb = extract_embeddings(cat, cache, progress=progress)
        t2 = time.perf_counter()
        score_library(cat)
        t3 = time.perf_counter()
        n = len(res.new)
        total_bytes = sum(p.stat().st_size for p in src.iterdir() if p.is_file())
        cat.close()
        shutil.rmtree(cache, ignore_errors=True)
    return {
        "folder": str(folder),
        "photos": n,
        "megabytes": round(total_bytes / 1e6, 1),
        "skipped": len(res.errors),
        "scan_s": round(t1 - t0, 2),
        "embed_s": round(t2 - t1, 2),
        "score_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 2),
        "photos_per_s": round(n / max(t3 - t0, 1e-9), 1),
        "scan_photos_per_s": round(n / max(t1 - t0, 1e-9), 1),
        "embed_photos_per_s": round(n_emb / max(t2 - t1, 1e-9), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "cpu_count": os.cpu_count(),
    }
