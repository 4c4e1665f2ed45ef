"""Fine-tune the last blocks of the EfficientNet-Lite0 backbone on PARA, from cached activations.

``training.para_features`` caches, for every PARA photo and its mirror image, the activation that enters
block 11 (``act10``: 112 x 14 x 14, float16). The tail of the network (blocks 11-15, the 1x1 head conv,
global pooling) is cheap next to the whole backbone, so it can be trained on a CPU:

1. the frozen part of the tail (blocks 11 .. 15 - ``--blocks``) runs once over the cache;
2. the last ``--blocks`` blocks, the head conv and a small regression head (pooled 1280-d features ->
   PARA aesthetic mean) are trained on the *train* sessions with mirror images, MSE plus a pairwise
   rank term (the judge is SROCC); the backbone part gets a lower learning rate;
3. after each epoch the val-session SROCC of the pooled features is measured the way the app would use
   them (ridge on the new 1280-d embedding, penalty chosen on val) and the best epoch is kept.

The device is CUDA when torch sees a GPU, else the CPU. The result (``--out``, a torch state dict of the
fine-tuned tail + the val report) is what an export of a fine-tuned backbone would start from; it is
shipped only where it beats the frozen backbone on val (see benchmarks/RESULTS.md).

    python -m piaa_desktop.training.finetune_tail --cache /work/cache/taste/para_feats.npz --blocks 1
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

FIRST_TAIL_BLOCK = 11  # act10 is the output of block 10
BASE = "backbone_effnet_lite0"  # fine-tuning starts from Google's weights (core.backbones), whatever the app ships


def device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_tail(net, blocks: int):
    """(frozen_part, trainable_part) torch modules over the tail of ``net`` (an efficientnet_lite_pytorch
    EfficientNet): frozen = blocks 11 .. n-blocks-1; trainable = the last ``blocks`` blocks + head conv,
    BN, swish and global average pooling -> (N, 1280)."""
    import copy

    import torch

    n_blocks = len(net._blocks)
    if not 0 <= blocks <= n_blocks - FIRST_TAIL_BLOCK:
        raise ValueError(f"blocks must be in 0..{n_blocks - FIRST_TAIL_BLOCK}")
    split = n_blocks - blocks
    # drop_connect is not used at eval; blocks are called with their default (none)

    class Seq(torch.nn.Module):
        def __init__(self, mods, head=None):
            super().__init__()
            self.mods = torch.nn.ModuleList(mods)
            self.head = head

        def forward(self, x):
            for m in self.mods:
                x = m(x)
            if self.head is not None:
                conv, bn, act = self.head
                x = act(bn(conv(x))).mean(dim=(2, 3))
            return x

    frozen = Seq([copy.deepcopy(b) for b in net._blocks[FIRST_TAIL_BLOCK:split]]).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    head = torch.nn.ModuleList([copy.deepcopy(net._conv_head), copy.deepcopy(net._bn1), copy.deepcopy(net._swish)])
    train = Seq([copy.deepcopy(b) for b in net._blocks[split:]], head)
    return frozen, train


def load_finetuned(net, result) -> int:
    """Copy a fine-tuned tail (``finetune()``'s result, or the path of its saved .pt) into ``net`` in place:
    its last blocks, head conv and head BN. Returns the number of fine-tuned blocks. The state dict must
    fit the tail exactly (a strict load), so a result of another architecture is refused."""
    import torch

    if not isinstance(result, dict):
        if str(result).endswith(".npz"):
            with np.load(result, allow_pickle=False) as z:
                result = {"state": {k: torch.from_numpy(z[k]) for k in z.files}}
        else:
            result = torch.load(result, map_location="cpu", weights_only=False)
    state = result["state"]
    blocks = len({k.split(".")[1] for k in state if k.startswith("mods.")})
    _, tail = build_tail(net, blocks)
    tail.load_state_dict(state, strict=True)
    split = len(net._blocks) - blocks
    for i, m in enumerate(tail.mods):
        net._blocks[split + i].load_state_dict(m.state_dict())
    net._conv_head.load_state_dict(tail.head[0].state_dict())
    net._bn1.load_state_dict(tail.head[1].state_dict())
    return blocks


def save_tail(result, out: Path) -> Path:
    """The fine-tuned tail's state dict (``finetune()``'s result or its .pt) as a plain .npz (no pickle): what
    ``models/`` keeps beside a backbone fine-tuned here (``BackboneSpec.finetuned_file``)."""
    import os

    import torch

    if not isinstance(result, dict):
        result = torch.load(result, map_location="cpu", weights_only=False)
    arrays = {k: v.detach().cpu().numpy() for k, v in result["state"].items()}
    tmp = Path(out).with_suffix(".part.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, out)
    return Path(out)


def refresh_cache(src: Path, finetuned: Path, out_dir: Path, batch: int = 64, log=print) -> Path:
    """The PARA feature cache of the backbone with the fine-tuned tail, from ``src``'s cached ``act10``.

    Blocks 11.. and the head run in eval mode with the fine-tuned weights over every photo and its mirror;
    the pooled head features and the taps at or after the first fine-tuned block are recomputed, the
    earlier taps (unchanged by the fine-tuning) are copied from ``src``. Writes ``out_dir/para_feats.npz``
    with the keys ``train_para_prior`` reads (head_mean, b15, b14, b10, b7, flip_*, names) and links
    ``para_signals.npy`` (pixel signals do not depend on the backbone). The cached act10 is float16: the
    recomputed features differ from a float32 pass over the images by its rounding (see
    ``--check`` in export_backbone's verification)."""
    import os

    import torch

    from piaa_desktop.training.export_backbone import build_torch_backbone, run_blocks
    from piaa_desktop.training.para_features import TAP_BLOCKS

    net = build_torch_backbone(BASE).net
    blocks = load_finetuned(net, finetuned)
    net.eval()
    split = len(net._blocks) - blocks
    redo = tuple(t for t in TAP_BLOCKS if t >= split)
    keep = tuple(t for t in TAP_BLOCKS if t < split)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    t0 = time.time()
    with np.load(src) as z:
        arrays["names"] = z["names"]
        for prefix in ("", "flip_"):
            act = z[prefix + "act10"]
            n = len(act)
            head = np.empty((n, net._conv_head.out_channels), np.float32)
            taps = {t: np.empty((n, net._blocks[t]._block_args.output_filters), np.float32) for t in redo}
            with torch.no_grad():
                for i in range(0, n, batch):
                    x = torch.from_numpy(np.asarray(act[i:i + batch], np.float32))
                    fmap, pooled, _ = run_blocks(net, x, redo, start=FIRST_TAIL_BLOCK)
                    head[i:i + batch] = fmap.mean(dim=(2, 3)).numpy()
                    for t in redo:
                        taps[t][i:i + batch] = pooled[t].numpy()
                    if (i // batch) % 20 == 0:
                        log(f"{prefix or 'orig '} {i + len(x)}/{n} in {time.time() - t0:.0f}s")
            del act
            arrays[prefix + "head_mean"] = head
            for t in redo:
                arrays[f"{prefix}b{t}"] = taps[t]
            for t in keep:
                arrays[f"{prefix}b{t}"] = np.asarray(z[f"{prefix}b{t}"], np.float32)
    out = out_dir / "para_feats.npz"
    tmp = out.with_suffix(".part.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, out)
    sig = out_dir / "para_signals.npy"
    if not sig.exists():
        sig.symlink_to(Path(src).resolve().parent / "para_signals.npy")
    log(f"wrote {out} ({', '.join(sorted(arrays))}) in {time.time() - t0:.0f}s")
    return out


def rank_loss(pred, target, margin: float = 0.05, temp: float = 0.1):
    """Pairwise logistic rank loss over the batch (pairs whose targets differ by more than ``margin``)."""
    import torch

    d = pred[:, None] - pred[None, :]
    dt = target[:, None] - target[None, :]
    w = (dt.abs() > margin).float()
    return (torch.nn.functional.softplus(-torch.sign(dt) * d / temp) * w).sum() / w.sum().clamp(min=1.0)


def ridge_val_srocc(f_tr, y_tr, f_va, y_va, lambdas=(1000.0, 3000.0, 10000.0, 30000.0)) -> tuple[float, float]:
    """Best val SROCC of a ridge head on standardised features (and its penalty)."""
    from piaa_desktop.core.personal.metrics import srocc

    m, s = f_tr.mean(0), f_tr.std(0) + 1e-6
    a, b = (f_tr - m) / s, (f_va - m) / s
    g = a.T @ a
    best = (-1.0, 0.0)
    for lam in lambdas:
        w = np.linalg.solve(g + lam * np.eye(len(g)), a.T @ (y_tr - y_tr.mean()))
        best = max(best, (srocc(b @ w, y_va), lam))
    return best


def finetune(act, act_flip, y, train_rows, val_rows, blocks: int = 1, epochs: int = 3, lr: float = 3e-4,
             batch: int = 64, rank_weight: float = 0.5, seed: int = 0, net=None, log=print) -> dict:
    """Fine-tune the tail on ``act`` (N, 112, 14, 14) and its mirror ``act_flip``; return the best epoch's
    state dict (by val ridge SROCC), its report and the report of the frozen tail (epoch 0)."""
    import torch

    from piaa_desktop.core.personal.metrics import srocc

    if net is None:
        from piaa_desktop.training.export_backbone import build_torch_backbone

        net = build_torch_backbone(BASE).net
    dev = device()
    torch.manual_seed(seed)
    frozen, tail = build_tail(net, blocks)
    frozen.to(dev)
    tail.to(dev)

    def run_frozen(a):
        out = []
        with torch.no_grad():
            for i in range(0, len(a), 256):
                out.append(frozen(torch.as_tensor(np.asarray(a[i:i + 256], np.float32), device=dev)).cpu().half())
        return torch.cat(out)

    t0 = time.time()
    x = run_frozen(act)  # float16 in memory (the tail's input for every epoch)
    xf = run_frozen(act_flip)
    log(f"frozen part of the tail over {len(x)} photos x 2 on {dev} in {time.time() - t0:.0f}s")

    def pooled(rows):
        tail.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(rows), 256):
                r = rows[i:i + 256]
                out.append(0.5 * (tail(x[r].to(dev).float()) + tail(xf[r].to(dev).float())).cpu().double().numpy())
        return np.concatenate(out)

    def evaluate():
        s, lam = ridge_val_srocc(pooled(train_rows), y[train_rows], pooled(val_rows), y[val_rows])
        return {"val_srocc_ridge": round(float(s), 4), "lambda": lam}

    reg = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(1280, 1)).to(dev)
    opt = torch.optim.AdamW([{"params": tail.parameters(), "lr": lr},
                             {"params": reg.parameters(), "lr": lr * 10}], weight_decay=0.01)
    yt = torch.as_tensor(np.asarray(y, np.float32))
    ym = float(yt[train_rows].mean())
    rows = np.concatenate([train_rows, -1 - train_rows])  # negative: the mirror image of row -1-r
    report = {"epoch_0": evaluate(), "device": str(dev), "blocks": blocks, "lr": lr, "rank_weight": rank_weight}
    log(f"epoch 0 (frozen backbone): {report['epoch_0']}")
    best = (report["epoch_0"]["val_srocc_ridge"], 0, {k: v.detach().cpu().clone() for k, v in tail.state_dict().items()})
    g = np.random.default_rng(seed)
    for ep in range(1, epochs + 1):
        tail.train()
        # batch norm statistics stay those of ImageNet: only the affine parameters move
        for m in tail.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
        perm = g.permutation(rows)
        t1 = time.time()
        for i in range(0, len(perm), batch):
            r = perm[i:i + batch]
            orig, mir = r[r >= 0], -1 - r[r < 0]
            xb = torch.cat([x[orig], xf[mir]]).to(dev).float()
            tb = torch.cat([yt[orig], yt[mir]]).to(dev)
            p = reg(tail(xb)).squeeze(1) + ym
            loss = ((p - tb) ** 2).mean() + rank_weight * rank_loss(p, tb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        report[f"epoch_{ep}"] = evaluate()
        report[f"epoch_{ep}"]["seconds"] = round(time.time() - t1, 1)
        log(f"epoch {ep}: {report[f'epoch_{ep}']}")
        s = report[f"epoch_{ep}"]["val_srocc_ridge"]
        if s > best[0]:
            best = (s, ep, {k: v.detach().cpu().clone() for k, v in tail.state_dict().items()})
    report["best_epoch"] = best[1]
    report["best_val_srocc_ridge"] = best[0]
    report["gain_over_frozen"] = round(best[0] - report["epoch_0"]["val_srocc_ridge"], 4)
    _ = srocc  # the metric module is the one every taste number uses
    return {"state": best[2], "report": report}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/taste/para_feats.npz"))
    ap.add_argument("--blocks", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--rank-weight", type=float, default=0.5)
    ap.add_argument("--limit", type=int, default=0, help="use only this many train photos (quick runs)")
    ap.add_argument("--out", type=Path, default=None, help="state dict + report (.pt)")
    ap.add_argument("--refresh-cache", type=Path, default=None, metavar="FT_PT",
                    help="do not train: write the feature cache of the backbone with this fine-tuned tail "
                         "(from --cache's act10) into --cache-out")
    ap.add_argument("--cache-out", type=Path, default=None, help="folder of the refreshed cache")
    ap.add_argument("--save-tail", nargs=2, type=Path, default=None, metavar=("FT_PT", "OUT_NPZ"),
                    help="do not train: write the fine-tuned tail of FT_PT as a plain .npz (models/)")
    args = ap.parse_args(argv)
    if args.save_tail:
        print(save_tail(*args.save_tail))
        return 0
    if args.refresh_cache:
        if not args.cache_out:
            ap.error("--refresh-cache needs --cache-out")
        refresh_cache(args.cache, args.refresh_cache, args.cache_out, log=lambda s: print(s, file=sys.stderr, flush=True))
        return 0

    import torch

    from piaa_desktop.training.para_data import load_para, session_split

    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    para = load_para(args.data)
    split = session_split(para.sessions)
    tr = np.flatnonzero(split == "train")
    va = np.flatnonzero(split == "val")
    if args.limit:
        tr = np.sort(np.random.default_rng(0).permutation(tr)[:args.limit])
    rows = np.concatenate([tr, va])  # only these photos' activations are read (test is never touched)
    with np.load(args.cache) as z:
        if [str(n) for n in z["names"]] != para.names:
            raise ValueError("feature cache does not match para/scores.csv")
        act, act_flip = z["act10"][rows], z["flip_act10"][rows]
    res = finetune(act, act_flip, para.aesthetic[rows], np.arange(len(tr)), np.arange(len(tr), len(rows)),
                   args.blocks, args.epochs, args.lr, rank_weight=args.rank_weight, log=log)
    res["report"]["train_photos"], res["report"]["val_photos"] = int(len(tr)), int(len(va))
    print(json.dumps(res["report"], indent=1))
    if args.out:
        torch.save(res, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
