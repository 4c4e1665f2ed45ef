"""Import throughput: scan + thumbnails + signals + embeddings + scores, photos per second and peak memory.

Runs on the 500 BSDS500 photos (481x321 JPEG) and on 200 of them upscaled to 12 MP (4243x2828, JPEG q92,
made once into a temporary folder: real photo content at a real camera size). Each case runs in a fresh
subprocess so peak memory is per case. Writes its numbers with this command to benchmarks/RESULTS.md.

    python benchmarks/import_speed.py [--data ../shared/data] [--no-write]
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
sys.path.insert(0, str(HERE))
from _results import write_section  # noqa: E402


def make_12mp(src: Path, dest: Path, n: int = 200) -> Path:
    from PIL import Image

    dest.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.glob("*.jpg"))[:n]:
        out = dest / p.name
        if out.exists():
            continue
        with Image.open(p) as im:
            w, h = im.size
            scale = (12_000_000 / (w * h)) ** 0.5
            im.convert("RGB").resize((round(w * scale), round(h * scale)), Image.Resampling.BICUBIC).save(
                out, quality=92
            )
    return dest


def run_case(folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "piaa_desktop.cli.main", "-q", "bench", "import", str(folder), "--json"],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    bsds = args.data / "bsds500"
    with tempfile.TemporaryDirectory(prefix="piaa-12mp-") as tmp:
        big = make_12mp(bsds, Path(tmp) / "12mp")
        results = {"bsds500_481x321": run_case(bsds), "bsds200_upscaled_12mp": run_case(big)}
    print(json.dumps(results, indent=2))
    if not args.no_write:
        lines = [
            "| case | photos | MB | scan s | embed s | total s | photos/s | scan photos/s | embed photos/s | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in results.items():
            lines.append(
                f"| {name} | {r['photos']} | {r['megabytes']} | {r['scan_s']} | {r['embed_s']} | {r['total_s']} | "
                f"{r['photos_per_s']} | {r['scan_photos_per_s']} | {r['embed_photos_per_s']} | {r['peak_rss_mb']} |"
            )
        lines.append("")
        lines.append(f"Machine: {os.cpu_count()} CPU cores (shared, noisy). Scan = hash + EXIF + thumbnail (JPEG draft "
                     "mode) + signals, in parallel threads; embeddings = EfficientNet-Lite0 ONNX, batch 32.")
        write_section("Import speed", "python benchmarks/import_speed.py", "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
