"""Cache of backbone activations of the PARA photos for training the generic aesthetic model.

One pass of the pretrained EfficientNet-Lite0 (exported to a research ONNX graph with extra outputs)
over every PARA photo and its horizontal mirror, saved to one ``.npz`` under ``--out``:

* ``head_mean`` (N,1280): the app's embedding (global average of the last conv features);
* ``head_std`` (N,1280): their spatial standard deviation;
* ``b15``/``b14``/``b10``/``b7`` (N,C): global averages of late MBConv block outputs;
* ``act10`` (N,112,14,14) float16: the activation entering block 11, so the last blocks can be
  fine-tuned in minutes on a CPU without running the early layers again;
* the same with the ``flip_`` prefix for the mirrored photo.

    python -m piaa_desktop.training.para_features --data ../shared/data --out /work/cache/taste/para_feats.npz
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

TAP_BLOCKS = (7, 10, 14, 15)
ACT_BLOCK = 10  # its output feeds block 11: the fine-tunable tail is blocks 11..15 + head


def build_tap_model(finetuned: Path | None = None):
    import torch

    from piaa_desktop.training.export_backbone import build_torch_backbone, run_blocks, stem

    net = build_torch_backbone(finetuned=finetuned).net

    class Tap(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            h, outs, act = run_blocks(self.net, stem(self.net, x), TAP_BLOCKS, keep=ACT_BLOCK)
            return (h.mean(dim=(2, 3)), h.std(dim=(2, 3)), outs[15], outs[14], outs[10], outs[7], act)

    return Tap(net).eval()


OUT_NAMES = ["head_mean", "head_std", "b15", "b14", "b10", "b7", "act10"]


def export_tap(path: Path) -> Path:
    import torch

    model = build_tap_model()
    tmp = path.with_suffix(".part")
    torch.onnx.export(model, torch.zeros(2, 3, 224, 224), str(tmp), input_names=["image"], output_names=OUT_NAMES,
                      dynamic_axes={"image": {0: "b"}, **{k: {0: "b"} for k in OUT_NAMES}}, opset_version=17,
                      dynamo=False)
    os.replace(tmp, path)
    return path


def load_images(paths, size=224) -> np.ndarray:
    from piaa_desktop.core.embeddings import preprocess
    from piaa_desktop.core.imageio import pil_open

    ims = [pil_open(p).convert("RGB") for p in paths]
    return preprocess(ims, size)


def extract(data: Path, out: Path, batch: int = 32, log=print) -> Path:
    import onnxruntime as ort

    para = data / "para"
    import csv

    with open(para / "scores.csv", newline="") as fh:
        names = [r["image"] for r in csv.DictReader(fh)]
    onnx_path = out.with_name("tap_effnet_lite0.onnx")
    if not onnx_path.exists():
        export_tap(onnx_path)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    acc: dict[str, list] = {}
    t0 = time.time()
    for i in range(0, len(names), batch):
        x = load_images([para / "images" / n for n in names[i:i + batch]])
        for prefix, xx in (("", x), ("flip_", x[..., ::-1].copy())):
            res = sess.run(OUT_NAMES, {"image": xx})
            for k, v in zip(OUT_NAMES, res):
                acc.setdefault(prefix + k, []).append(v.astype(np.float16 if k == "act10" else np.float32))
        if i % 640 == 0:
            log(f"{i + len(x)}/{len(names)} in {time.time() - t0:.0f}s")
    arrays = {k: np.concatenate(v) for k, v in acc.items()}
    arrays["names"] = np.array(names)
    tmp = out.with_suffix(".part.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, out)
    return out


def extract_signals(data: Path, out: Path, log=print) -> Path:
    """The app's pixel signals (core.signals) of every PARA photo, as an (N, len(SIGNAL_COLUMNS)) .npy."""
    import csv

    from piaa_desktop.core.catalog import SIGNAL_COLUMNS
    from piaa_desktop.core.imageio import pil_open
    from piaa_desktop.core.signals import compute_signals

    para = Path(data) / "para"
    with open(para / "scores.csv", newline="") as fh:
        names = [r["image"] for r in csv.DictReader(fh)]
    arr = np.zeros((len(names), len(SIGNAL_COLUMNS)), np.float32)
    for i, n in enumerate(names):
        s = compute_signals(np.asarray(pil_open(para / "images" / n).convert("RGB")))
        arr[i] = [s[c] for c in SIGNAL_COLUMNS]
        if i % 2000 == 0:
            log(f"signals {i}/{len(names)}")
    tmp = out.with_suffix(".part.npy")
    np.save(tmp, arr)
    os.replace(tmp, out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path("/work/cache/taste/para_feats.npz"))
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(extract(args.data, args.out, log=lambda s: print(s, file=sys.stderr, flush=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
