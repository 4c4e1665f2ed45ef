"""Enhancer benchmark: quality on FiveK expert C (leave-some-out) and develop/auto-enhance speed.

    python benchmarks/enhance_bench.py [--train 15] [--repeats 3] [--rounds 10] [--no-quality] [--no-speed]

Quality is ``piaa bench enhance`` in-process (same code); speed uses a 24 MP JPEG made by upscaling a
FiveK input (6000x4000, quality 92), so decode costs are realistic. Writes the
"Enhancer (develop pipeline + DRL)" section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIVEK = REPO.parent / "shared" / "data" / "fivek_expert_c"


def quality(train: int, repeats: int, rounds: int, seed: int) -> tuple[str, list[dict]]:
    from piaa_desktop.lab.enhance_bench import run_bench

    t0 = time.time()
    rows = run_bench(FIVEK, train_n=train, repeats=repeats, rounds=rounds, seed=seed,
                     log=lambda m: print(m, file=sys.stderr, flush=True))
    dt = time.time() - t0
    lines = [
        f"FiveK expert C ({FIVEK.name}, 20 real pairs, ~512 px): learn from {train} pairs, evaluate on the other "
        f"{20 - train}; {repeats} random splits (seed {seed}), i.e. {repeats * (20 - train)} held-out evaluations. "
        f"Policy fine-tuning: {rounds} rounds; total wall time {dt / 60:.1f} min on the shared 2-core machine "
        "(CPU, other jobs running).",
        "",
        "| method | train | test/split | splits | mean PSNR (dB) | PSNR std | mean CIEDE2000 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['method']} | {r['train']} | {r['test']} | {r['repeats']} | {r['psnr_mean']:.2f} | "
                     f"{r['psnr_std']:.2f} | {r['de2000_mean']:.2f} |")
    return "\n".join(lines), rows


def speed() -> str:
    from PIL import Image

    from piaa_desktop.core import develop
    from piaa_desktop.core.enhance.operations import PROXY_SIDE, _load_proxy
    from piaa_desktop.core.enhance.model import load_shipped
    from piaa_desktop.core.imageio import load_rgb

    src = sorted((FIVEK / "input").glob("*.png"))[0]
    params = {"exposure": 0.4, "contrast": 20, "highlights": -20, "shadows": 25, "temperature": 8,
              "saturation": 10, "vibrance": 15, "curve_midtones": 5}
    out = []
    with tempfile.TemporaryDirectory() as td:
        big = Path(td) / "24mp.jpg"
        Image.open(src).convert("RGB").resize((6000, 4000), Image.Resampling.BICUBIC).save(big, quality=92)
        # preview proxy render (screen-sized)
        for side in (1024, 2048):
            prx = develop.proxy(Image.open(big), side)
            develop.render(prx, params)
            t = time.perf_counter()
            for _ in range(10):
                develop.render(prx, params)
            out.append(f"| preview render, {prx.shape[1]}x{prx.shape[0]} proxy | {(time.perf_counter() - t) / 10 * 1000:.0f} ms |")
        model = load_shipped()
        model.enhance(_load_proxy(str(big), PROXY_SIDE))  # warm-up (onnxruntime session)
        ts = []
        for _ in range(3):
            t = time.perf_counter()
            p = model.enhance(_load_proxy(str(big), PROXY_SIDE))
            ts.append(time.perf_counter() - t)
        out.append(f"| auto-enhance 24 MP JPEG: decode proxy (draft) + policy -> parameters | {np.median(ts) * 1000:.0f} ms |")
        arr = np.asarray(load_rgb(big))
        for threads in (1, 2):
            develop.render_uint8(arr, params, threads=threads)
            ts = []
            for _ in range(3):
                t = time.perf_counter()
                develop.render_uint8(arr, params, threads=threads)
                ts.append(time.perf_counter() - t)
            out.append(f"| apply parameters at full resolution, 6000x4000, {threads} thread(s) | {np.median(ts) * 1000:.0f} ms |")
        t = time.perf_counter()
        arr = np.asarray(load_rgb(big))
        out.append(f"| (for scale) decode the 24 MP JPEG at full resolution | {(time.perf_counter() - t) * 1000:.0f} ms |")
    head = ["", "Speed (median; shared 2-core CPU, numpy, onnxruntime 1 thread):", "", "| step | time |", "|---|---|"]
    return "\n".join(head + out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=15)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    body = []
    if not args.no_quality:
        text, _ = quality(args.train, args.repeats, args.rounds, args.seed)
        body.append(text)
    if not args.no_speed:
        body.append(speed())
    cmd = "python benchmarks/enhance_bench.py " + " ".join(sys.argv[1:])
    text = "\n".join(body)
    print(text)
    write_section("Enhancer (develop pipeline + DRL)", cmd.strip(), text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
