"""Calibrate the technical-flag thresholds (core/flags.py) on real photos and degraded copies of them.

For BSDS500 photos (real, mostly well exposed and sharp) we make degraded copies: Gaussian blur,
horizontal motion blur, under- and over-exposure (gains in linear light, with clipping) and Gaussian
noise; then measure, for each flag, how often it fires on the originals (false alarms) and on the
degraded copies (detections). Signals are computed exactly as the scanner does (core.signals on the
decoded image; BSDS photos are 481x321, below the 512 px thumbnail size).

    nice -n 10 .venv/bin/python benchmarks/calibrate_flags.py [--n 200] [--write]

``--write`` records the table in benchmarks/RESULTS.md under "Technical flags calibration".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from piaa_desktop.core.flags import FLAG_NAMES, technical_flags  # noqa: E402
from piaa_desktop.core.signals import compute_signals  # noqa: E402

BSDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "bsds500"


def _lin(a):
    a = a / 255.0
    return np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)


def _srgb(x):
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055) * 255.0


def exposure(rgb: np.ndarray, ev: float) -> np.ndarray:
    return np.clip(_srgb(_lin(rgb.astype(np.float64)) * 2.0 ** ev) + 0.5, 0, 255).astype(np.uint8)


def motion(rgb: np.ndarray, length: int) -> np.ndarray:
    f = rgb.astype(np.float32)
    pad = np.pad(f, ((0, 0), (length, length), (0, 0)), mode="edge")
    acc = np.zeros_like(f)
    for s in range(length):
        acc += pad[:, length - length // 2 + s : length - length // 2 + s + f.shape[1]]
    return np.clip(acc / length + 0.5, 0, 255).astype(np.uint8)


def noise(rgb: np.ndarray, sigma: float, rng) -> np.ndarray:
    return np.clip(rgb.astype(np.float32) + rng.normal(0, sigma, rgb.shape) + 0.5, 0, 255).astype(np.uint8)


def variants(rgb: np.ndarray, rng) -> dict[str, np.ndarray]:
    im = Image.fromarray(rgb)
    return {
        "original": rgb,
        "gauss_blur_r2": np.asarray(im.filter(ImageFilter.GaussianBlur(2))),
        "gauss_blur_r4": np.asarray(im.filter(ImageFilter.GaussianBlur(4))),
        "motion_blur_9px": motion(rgb, 9),
        "motion_blur_17px": motion(rgb, 17),
        "under_-2EV": exposure(rgb, -2),
        "under_-3EV": exposure(rgb, -3),
        "over_+1.5EV": exposure(rgb, 1.5),
        "over_+2.5EV": exposure(rgb, 2.5),
        "noise_s12": noise(rgb, 12, rng),
        "noise_s25": noise(rgb, 25, rng),
    }


EXPECTED = {
    "gauss_blur": "blur",
    "motion_blur": "blur",
    "under": "underexposed",
    "over": "overexposed",
    "noise": "noisy",
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--offset", type=int, default=0, help="skip the first photos (held-out check)")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--dump", help="save all signals to this .npz for threshold exploration")
    args = ap.parse_args()
    files = sorted(BSDS.glob("*.jpg"))[args.offset : args.offset + args.n]
    if not files:
        print(f"no photos in {BSDS}", file=sys.stderr)
        return 1
    rng = np.random.default_rng(0)
    fired: dict[str, dict[str, int]] = {}
    dump: dict[str, list] = {}
    for f in files:
        rgb = np.asarray(Image.open(f).convert("RGB"))
        for name, arr in variants(rgb, rng).items():
            sig = compute_signals(arr)
            dump.setdefault(name, []).append([sig[k] for k in sorted(sig)])
            flags = technical_flags(sig)
            row = fired.setdefault(name, {k: 0 for k in FLAG_NAMES})
            for k in flags:
                row[k] += 1
    if args.dump:
        np.savez(args.dump, keys=np.array(sorted(sig)), **{k: np.array(v) for k, v in dump.items()})
    n = len(files)
    lines = [
        f"BSDS500 photos {args.offset}..{args.offset + n - 1} ({n}) and degraded copies; share of photos each flag "
        "fires on (the expected flag of each degradation in bold).",
        "",
        "| variant | " + " | ".join(FLAG_NAMES) + " |",
        "|---|" + "---|" * len(FLAG_NAMES),
    ]
    for name, row in fired.items():
        exp = next((v for k, v in EXPECTED.items() if name.startswith(k)), None)
        cells = []
        for k in FLAG_NAMES:
            pct = f"{100.0 * row[k] / n:.1f}%"
            cells.append(f"**{pct}**" if k == exp else pct)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        from _results import write_section

        cmd = "nice -n 10 .venv/bin/python benchmarks/calibrate_flags.py " + " ".join(sys.argv[1:])
        write_section("Technical flags calibration", cmd.strip(), table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
