"""Peak memory of importing huge-but-small files (issue 12, item 7): N PNGs of M megapixels (a flat colour,
so each file is tiny while its decode is large) scanned with W workers, with the process-wide decode
budget as shipped and with it set out of the way. Each case runs in a fresh subprocess (peak RSS per case).
Writes its numbers with this command to benchmarks/RESULTS.md.

    python benchmarks/decode_memory.py [--files 8] [--megapixels 40] [--workers 8] [--budget-mb 1024] [--json] [--no-write]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from _results import write_section  # noqa: E402

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from piaa_desktop.core import imageio
from piaa_desktop.core.catalog import Catalog
from piaa_desktop.core.scanner import scan_folder
lib, data, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
cat = Catalog.open(data / "catalog.sqlite3")
t = time.perf_counter()
res = scan_folder(cat, lib, data / "cache", workers=workers)
print(json.dumps({"seconds": round(time.perf_counter() - t, 2), "imported": len(res.new),
                  "refused": [r for _, r in res.errors][:1], "budget_mb": imageio.DECODE_BUDGET.total >> 20,
                  "budget_peak_mb": imageio.DECODE_BUDGET.peak >> 20,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def make_files(dest: Path, n: int, megapixels: float) -> list[Path]:
    from PIL import Image

    side = int((megapixels * 1e6) ** 0.5)
    out = []
    for k in range(n):
        p = dest / f"huge_{k}.png"
        Image.new("RGB", (side, side), (20 * k % 255, 90, 160)).save(p, optimize=False)
        out.append(p)
    return out


def run_case(lib: Path, workers: int, budget_mb: int | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if budget_mb:
        env["PIAA_DECODE_BUDGET_MB"] = str(budget_mb)
    else:
        env.pop("PIAA_DECODE_BUDGET_MB", None)
    with tempfile.TemporaryDirectory(prefix="piaa-decmem-") as data:
        r = subprocess.run([sys.executable, "-c", CHILD, str(lib), data, str(workers)], capture_output=True,
                           text=True, env=env, timeout=1800)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--megapixels", type=float, default=40.0)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--budget-mb", type=int, default=1024, help="the tight budget of the second case")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="piaa-decmem-lib-") as tmp:
        lib = Path(tmp)
        files = make_files(lib, args.files, args.megapixels)
        size_kb = sum(p.stat().st_size for p in files) // 1024
        cases = {
            "no budget (64 GB)": run_case(lib, args.workers, 65536),
            f"budget {args.budget_mb} MB": run_case(lib, args.workers, args.budget_mb),
            "budget as shipped": run_case(lib, args.workers, None),
        }
    out = {"files": args.files, "megapixels": args.megapixels, "workers": args.workers,
           "total_file_kb": size_kb, "cases": cases}
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=2))
    if not args.no_write:
        cmd = (f"python benchmarks/decode_memory.py --files {args.files} --megapixels {args.megapixels:g} "
               f"--workers {args.workers} --budget-mb {args.budget_mb}")
        lines = [
            f"{args.files} flat-colour PNGs of {args.megapixels:g} MP ({size_kb} KB on disk in all), "
            f"scanned with {args.workers} decode workers; peak RSS of the whole import process.",
            "",
            "| decode budget | peak RSS (MB) | budget peak (MB) | imported | seconds |",
            "|---|---|---|---|---|",
        ]
        for name, c in cases.items():
            lines.append(f"| {name} ({c['budget_mb']} MB) | {c['peak_rss_mb']} | {c['budget_peak_mb']} | "
                         f"{c['imported']}/{args.files} | {c['seconds']} |")
        write_section("Decode memory budget (hardening)", cmd, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
