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


def quality(train: int, repeats: int, rounds: int, seed: int, folds: int = 0) -> tuple[str, list[dict]]:
    from piaa_desktop.lab.enhance_bench import run_bench

    t0 = time.time()
    rows = run_bench(FIVEK, train_n=train, repeats=repeats, rounds=rounds, seed=seed, folds=folds,
                     log=lambda m: print(m, file=sys.stderr, flush=True))
    dt = time.time() - t0
    if folds:
        how = (f"{folds} disjoint folds (seed {seed}): learn from the other {rows[0]['train']} pairs, evaluate on "
               f"the fold's {rows[0]['test']}; every pair is tested exactly once")
    else:
        how = (f"learn from {train} pairs, evaluate on the other {20 - train}; {repeats} random splits (seed {seed}), "
               f"i.e. {repeats * (20 - train)} held-out evaluations")
    lines = [
        f"FiveK expert C ({FIVEK.name}, 20 real pairs, ~512 px; a4576's ProPhoto input converted to sRGB by its ICC "
        f"profile): {how}. Policy fine-tuning: {rounds} rounds; total wall time {dt / 60:.1f} min on the shared "
        "2-core machine (CPU, no GPU this session; other jobs running).",
        "",
        "| method | train | test/split | splits | mean PSNR (dB) | PSNR std | mean CIEDE2000 | PSNR per split (dB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['method']} | {r['train']} | {r['test']} | {r['repeats']} | {r['psnr_mean']:.2f} | "
                     f"{r['psnr_std']:.2f} | {r['de2000_mean']:.2f} | {' / '.join(f'{x:.2f}' for x in r['psnr_per_split'])} |")
    lines.append("")
    lines.append("Learning time per split (fitting the retouches' parameters excluded, done once): "
                 + ", ".join(f"{x:.0f} s" for x in rows[0]["seconds_per_split"]))
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
        # learning a style from 20 edits (the app's path: catalog -> pairs -> regression + policy -> ONNX)
        personal, line = learn_from_20_edits(Path(td))
        out.append(line)
        personal.enhance(_load_proxy(str(big), PROXY_SIDE))
        ts = []
        for _ in range(3):
            t = time.perf_counter()
            personal.enhance(_load_proxy(str(big), PROXY_SIDE))
            ts.append(time.perf_counter() - t)
        out.append(f"| auto-enhance 24 MP JPEG with the personal model just learned (refinement "
                   f"{'on' if personal.meta.get('refine') else 'off'}) | {np.median(ts) * 1000:.0f} ms |")
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


def learn_from_20_edits(tmp: Path):
    """Time ``train_enhancer_from_catalog`` on 20 photos the 'user' developed in one consistent style
    (20 bsds500 photos copied out of shared/data; exposure, warmth and contrast that depend on each
    photo's brightness, as a person's would)."""
    import shutil

    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.enhance.model import load_personal
    from piaa_desktop.core.enhance.operations import train_enhancer_from_catalog
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.scanner import scan_folder

    lib = tmp / "lib20"
    lib.mkdir()
    for f in sorted((REPO.parent / "shared" / "data" / "bsds500").glob("*.jpg"))[100:120]:
        shutil.copy2(f, lib / f.name)
    paths = app_paths(tmp / "data20").ensure()
    cat = open_catalog(paths)
    try:
        scan_folder(cat, lib, paths.cache_dir, workers=2)
        from piaa_desktop.core.imageio import load_rgb
        from piaa_desktop.core import develop

        for pid in cat.query_ids(sort="name"):
            y = float(develop.proxy(load_rgb(cat.photo(pid).path, max_size=256), 64).mean())
            cat.set_edit([pid], {"exposure": round(1.2 * (0.5 - y), 2), "temperature": 15.0,
                                 "contrast": round(40 * (0.5 - y) + 10, 1), "vibrance": 10.0}, source="user")
        t, c = time.perf_counter(), time.process_time()
        res = train_enhancer_from_catalog(cat, paths)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    finally:
        cat.close()
    model = load_personal(paths)
    line = (f"| learn a retouching style from {res['n_pairs']} edits (catalog -> regression + DRL policy -> ONNX), "
            f"CPU | {wall:.0f} s wall, {cpu:.0f} s CPU |")
    return model, line


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=15)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--folds", type=int, default=0, help="K disjoint test folds instead of random splits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    body = []
    if not args.no_quality:
        text, _ = quality(args.train, args.repeats, args.rounds, args.seed, args.folds)
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
