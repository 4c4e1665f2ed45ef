"""Time the training paths on CUDA against the CPU: the retouching-style learner, the PARA prior, the backbone tail.

Two steps, because a GPU machine is usually another machine with no access to ``../shared``:

    python benchmarks/cuda_training.py prepare --out STAGE      # here: a small stage folder from ../shared/data
    python benchmarks/cuda_training.py run --stage STAGE --json # on the GPU machine (and/or here)

``prepare`` writes (about 30 MB, so it travels with the repository):

* ``fivek_pairs.npz``: the 20 FiveK expert C pairs at the learner's pair size (``PAIR_SIDE``), float16, loaded
  as the enhancer benchmark loads them (a4576 converted to sRGB by its ICC profile);
* ``para/``: PARA's score/attribute tables, the backbone's ImageNet layer (``fc.npz``: the old simulator's
  raters read ImageNet logits) and, for
  ``train-prior``: the app's 1984-d embeddings of the 8,000 photos and their mirror images quantised to 8 bits
  per dimension (the mirror stored as a difference, so it compresses), rebuilt to float32 by ``run``. The
  training does the same amount of work as on the full-precision cache; its quality numbers are those of
  the quantised features and are not the shipped model's.

``run`` times each step on CUDA when torch sees a GPU, else on the CPU; the step ``enhancer_cpu`` times the
enhancer again on the same machine's CPU (a child process with ``CUDA_VISIBLE_DEVICES=``):

* ``enhancer``: ``core.enhance.model.train_from_pairs`` on the 20 pairs from the shipped policy, as *Learn my
  retouching style* does (10 rounds, 6 steps);
* ``finetune``: ``training.finetune_tail.finetune`` with 1 block, 3 epochs, over random block-10 activations of
  the real shape (5,581 train + 1,202 val photos and their mirrors; the val numbers are meaningless, the
  time is not) on an EfficientNet-Lite0 built without its pretrained weights (same work);
* ``prior``: ``piaa train-prior --iterations 120`` (the shipped model's setting) on the staged cache;
  ``prior_cpu`` the same on the same machine's CPU.

Prints one JSON object (only that on stdout with ``--json``; progress goes to stderr). The numbers of the
GPU run are in benchmarks/RESULTS.md, "Training on CUDA", with the command.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
KEYS = ("head_mean", "b15", "b14", "b10", "b7")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ prepare
def prepare(out: Path, data: Path, feats: Path, signals: Path) -> None:
    import shutil

    from piaa_desktop.core.enhance.model import PAIR_SIDE
    from piaa_desktop.lab.enhance_bench import find_pairs, load_pair

    out.mkdir(parents=True, exist_ok=True)
    pairs = [load_pair(s, t, side=PAIR_SIDE) for s, t in find_pairs(data / "fivek_expert_c")]
    arrays = {}
    for i, (a, b) in enumerate(pairs):
        arrays[f"src{i}"] = a.astype(np.float16)
        arrays[f"dst{i}"] = b.astype(np.float16)
    np.savez_compressed(out / "fivek_pairs.npz", **arrays)
    (out / "para" / "data" / "para").mkdir(parents=True, exist_ok=True)
    for name in ("scores.csv", "attributes.csv"):
        src = data / "para" / name
        if src.exists():
            shutil.copy2(src, out / "para" / "data" / "para" / name)
    with np.load(feats) as z:
        parts = [z[k] for k in KEYS]
        x = np.concatenate(parts, 1)
        xf = np.concatenate([z["flip_" + k] for k in KEYS], 1)
        names = z["names"]
    dims = np.array([a.shape[1] for a in parts])
    lo = np.minimum(x.min(0), xf.min(0))
    scale = (np.maximum(x.max(0), xf.max(0)) - lo) / 255.0 + 1e-12
    q = np.round((x - lo) / scale).astype(np.int16)
    qf = np.round((xf - lo) / scale).astype(np.int16)
    np.savez_compressed(out / "para" / "feats_q8.npz", q=q.astype(np.uint8), dflip=np.clip(qf - q, -128, 127).astype(np.int8),
                        lo=lo.astype(np.float32), scale=scale.astype(np.float32), names=names, dims=dims)
    shutil.copy2(signals, out / "para" / "para_signals.npy")
    # the old simulator's raters read ImageNet logits: the backbone's last layer (linear in the head features)
    # travels instead of the 18 MB weights package, and ``unpack_para`` computes them
    from piaa_desktop.training.export_backbone import build_torch_backbone

    fc = build_torch_backbone().net._fc
    np.savez(out / "para" / "fc.npz", weight=fc.weight.detach().numpy().astype(np.float16),
             bias=fc.bias.detach().numpy().astype(np.float32))
    log(f"staged {sum(p.stat().st_size for p in out.rglob('*') if p.is_file()) / 1e6:.1f} MB in {out}")


def unpack_para(stage: Path, cache: Path) -> None:
    """Rebuild the trainer's feature cache (float32) from the staged 8-bit one."""
    cache.mkdir(parents=True, exist_ok=True)
    with np.load(stage / "para" / "feats_q8.npz") as z:
        q = z["q"].astype(np.float32)
        qf = q + z["dflip"].astype(np.float32)
        x = q * z["scale"] + z["lo"]
        xf = qf * z["scale"] + z["lo"]
        dims, names = z["dims"], z["names"]
    arrays, at = {"names": names}, 0
    for k, d in zip(KEYS, dims):
        arrays[k], arrays["flip_" + k] = x[:, at:at + d], xf[:, at:at + d]
        at += d
    fc = stage / "para" / "fc.npz"
    if fc.exists():
        with np.load(fc) as z:
            arrays["logits"] = (arrays["head_mean"] @ z["weight"].astype(np.float32).T + z["bias"]).astype(np.float32)
    np.savez(cache / "para_feats.npz", **arrays)
    sig = cache / "para_signals.npy"
    if not sig.exists():
        sig.write_bytes((stage / "para" / "para_signals.npy").read_bytes())


# ------------------------------------------------------------------------------------------------ steps
def step_enhancer(stage: Path) -> dict:
    import torch

    from piaa_desktop.core.enhance.model import load_shipped, train_from_pairs
    from piaa_desktop.core.enhance.policy import device

    with np.load(stage / "fivek_pairs.npz") as z:
        n = len([k for k in z.files if k.startswith("src")])
        pairs = [(z[f"src{i}"].astype(np.float32), z[f"dst{i}"].astype(np.float32)) for i in range(n)]
    t0 = time.perf_counter()
    model, _net = train_from_pairs(pairs, init_weights=load_shipped().weights, rounds=10, seed=0, max_steps=6)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return {"device": str(device()), "pairs": n, "seconds": round(time.perf_counter() - t0, 2),
            "refine": bool(model.meta.get("refine", False))}


def step_finetune(epochs: int = 3, blocks: int = 1, scale: float = 1.0) -> dict:
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from piaa_desktop.training.finetune_tail import device, finetune

    n_train, n_val = int(5581 * scale), int(1202 * scale)
    g = np.random.default_rng(0)
    n = n_train + n_val
    act = (g.standard_normal((n, 112, 14, 14), dtype=np.float32)).astype(np.float16)
    act_flip = act[:, :, :, ::-1].copy()
    y = g.uniform(1, 5, n)
    net = EfficientNet.from_name("efficientnet-lite0")
    net.eval()
    lines = []
    t0 = time.perf_counter()
    res = finetune(act, act_flip, y, np.arange(n_train), np.arange(n_train, n), blocks=blocks, epochs=epochs, net=net,
                   log=lines.append)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    total = time.perf_counter() - t0
    rep = res["report"]
    frozen = next((float(m.group(1)) for s in lines if (m := re.search(r" in (\d+)s", s))), None)
    return {"device": str(device()), "photos": n, "blocks": blocks, "epochs": epochs, "seconds": round(total, 1),
            "frozen_part_seconds": frozen,
            "epoch_seconds": [rep[f"epoch_{e}"]["seconds"] for e in range(1, epochs + 1)]}


def step_prior(stage: Path, work: Path, iterations: int, timeout: float, cpu: bool = False) -> dict:
    cache = work / "para_cache"
    if not (cache / "para_feats.npz").exists():
        unpack_para(stage, cache)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="") if cpu else None
    cmd = [sys.executable, "-m", "piaa_desktop.training.train_para_prior", "--data", str(stage / "para" / "data"),
           "--cache", str(cache), "--out", str(work / "prior.npz"), "--no-manifest", "--iterations", str(iterations)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)
    except subprocess.TimeoutExpired as exc:
        return {"error": f"timed out after {timeout:.0f}s", "log_tail": (exc.stderr or b"")[-2000:].decode("utf-8", "replace")
                if isinstance(exc.stderr, bytes) else str(exc.stderr)[-2000:]}
    total = time.perf_counter() - t0
    err = proc.stderr
    (work / ("prior_cpu.log" if cpu else "prior.log")).write_text(err)
    out = {"seconds": round(total, 1), "returncode": proc.returncode, "iterations": iterations}
    if m := re.search(r"meta-training done on (\S+) in (\d+)s", err):
        out["device"], out["meta_training_seconds"] = m.group(1), int(m.group(2))
    if proc.returncode:
        out["log_tail"] = err[-2000:]
    return out


def run(stage: Path, steps: list[str], work: Path, iterations: int, prior_timeout: float,
        finetune_scale: float = 1.0) -> dict:
    import torch

    work.mkdir(parents=True, exist_ok=True)
    res = {"torch": torch.__version__, "cuda": torch.cuda.is_available(),
           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "cpu_count": os.cpu_count()}
    for name in steps:
        log(f"== {name}")
        try:
            if name == "enhancer":
                res["enhancer"] = step_enhancer(stage)
            elif name == "enhancer_cpu":  # the same step in a child that sees no GPU (same machine, same data)
                env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
                proc = subprocess.run([sys.executable, __file__, "run", "--stage", str(stage), "--json",
                                       "--work", str(work / "cpu"), "--steps", "enhancer"],
                                      capture_output=True, text=True, env=env)
                res["enhancer_cpu"] = json.loads(proc.stdout)["enhancer"] if proc.returncode == 0 else {
                    "error": proc.stderr[-2000:]}
            elif name == "finetune":
                res["finetune"] = step_finetune(scale=finetune_scale)
            elif name in ("prior", "prior_cpu"):  # prior_cpu: the same run in a child that sees no GPU
                res[name] = step_prior(stage, work, iterations, prior_timeout, cpu=name == "prior_cpu")
            else:
                raise ValueError(f"unknown step {name!r}")
        except Exception as exc:  # a step that fails is reported, the others still run
            res[name] = {"error": f"{type(exc).__name__}: {exc}"}
        log(json.dumps(res.get(name)))
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--feats", type=Path, default=Path(os.environ.get("PIAA_PARA_CACHE", "/tmp/piaa-para-cache")) / "para_feats.npz")
    p.add_argument("--signals", type=Path, default=None)
    r = sub.add_parser("run")
    r.add_argument("--stage", type=Path, required=True)
    r.add_argument("--steps", default="enhancer,enhancer_cpu,finetune,prior",
                   help="enhancer_cpu: the enhancer again in a child process that sees no GPU")
    r.add_argument("--work", type=Path, default=Path("/tmp/piaa-cuda-bench"))
    r.add_argument("--iterations", type=int, default=120)
    r.add_argument("--prior-timeout", type=float, default=420.0)
    r.add_argument("--finetune-scale", type=float, default=1.0, help="fraction of the real number of photos (quick runs)")
    r.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.cmd == "prepare":
        prepare(args.out, args.data, args.feats, args.signals or args.feats.with_name("para_signals.npy"))
        return 0
    res = run(args.stage, [s for s in args.steps.split(",") if s], args.work, args.iterations, args.prior_timeout,
              args.finetune_scale)
    print(json.dumps(res) if args.json else json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
