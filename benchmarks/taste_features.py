"""Which frozen backbone features the generic PARA model should use: val-session SROCC of the trainer's own
heads (ridge with mirror images, penalty chosen on val; the MLP ensemble of train_para_prior.train_mlp) on
feature sets built from the PARA feature cache (training/para_features.py), and the fine-tuned tail
(training/finetune_tail.py) when its report is given. Only the *val* sessions are used: this chose the
shipped backbone's taps; test is reported once by ``piaa train-prior`` for the shipped model.

    nice -n 10 /work/main/.venv-test/bin/python benchmarks/taste_features.py --cache /work/cache/taste/para_feats.npz \
        --finetune-report /work/cache/taste2/ft_b0.json /work/cache/taste2/ft_b1.json --write
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
TITLE = "Taste: frozen features for the generic PARA model (val sessions)"
SETS = {
    "head (1280, the old embedding)": ("head_mean",),
    "head + spatial sd of the head features (2560)": ("head_mean", "head_std"),
    "head + pooled blocks 15, 14 (1792)": ("head_mean", "b15", "b14"),
    "head + pooled blocks 15, 14, 10, 7 (1984, frozen Google weights)": ("head_mean", "b15", "b14", "b10", "b7"),
}
# read from --finetuned-cache (finetune_tail --refresh-cache): the same taps, block 15 + head conv fine-tuned
FT_SET = "head + pooled blocks 15, 14, 10, 7, block 15 + head conv fine-tuned on PARA train (1984, shipped)"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/taste/para_feats.npz"))
    ap.add_argument("--sets", default="", help="comma-separated indices into the feature sets (default: all)")
    ap.add_argument("--finetune-report", type=Path, nargs="*", default=[],
                    help="JSON reports of training/finetune_tail.py")
    ap.add_argument("--finetuned-cache", type=Path, default=None,
                    help="feature cache of the backbone with the fine-tuned tail (finetune_tail --refresh-cache): "
                         "adds its row")
    ap.add_argument("--rows", type=Path, default=None,
                    help="reuse the table rows an earlier run printed on stderr (no refit; the rows say what they measured)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    from piaa_desktop.core.personal.metrics import plcc, srocc
    from piaa_desktop.training.para_data import load_para, session_split
    from piaa_desktop.training.train_para_prior import LAMBDAS, MIX_WEIGHTS, RidgeBank, mlp_predict, train_mlp

    para = load_para(args.data)
    split = session_split(para.sessions)
    tr, va = np.flatnonzero(split == "train"), split == "val"
    y = para.aesthetic
    names = list(SETS)
    if args.sets:
        names = [names[int(i)] for i in args.sets.split(",")]
    lines = ["| features | ridge val SROCC | MLP val SROCC | MLP val PLCC | MLP + flip TTA val SROCC | seconds "
             "| MLP mixed with the ridge head as the trainer does (weight chosen on val): val SROCC / PLCC |",
             "|---|---|---|---|---|---|---|"]
    if args.rows:
        lines += [r.rstrip("\n") + ("" if r.count("|") > 7 else " not measured |")
                  for r in args.rows.read_text().splitlines() if r.startswith("| ")]
        names = []
    if args.finetuned_cache:
        names.append(FT_SET)
    for name in names:
        t0 = time.time()
        keys = SETS.get(name, ("head_mean", "b15", "b14", "b10", "b7"))
        z = np.load(args.finetuned_cache if name == FT_SET else args.cache)
        x = np.concatenate([z[k] for k in keys], 1).astype(np.float32)
        xf = np.concatenate([z["flip_" + k] for k in keys], 1).astype(np.float32)
        bank = RidgeBank(x, xf)
        s_r, w, b = max(((srocc(x[va] @ w + b, y[va]), w, b) for w, b in (bank.fit(tr, y, lam) for lam in LAMBDAS)),
                        key=lambda t: t[0])
        m = train_mlp(x, xf, y, tr, hidden=128, seeds=3, epochs=15, log=lambda s: None)
        p, pf = mlp_predict(m, x), mlp_predict(m, xf)
        pr = x @ w + b
        mix = {a: srocc(((1 - a) * p + a * pr)[va], y[va]) for a in MIX_WEIGHTS}
        a = max(mix, key=mix.get)
        row = (f"| {name} | {s_r:.4f} | {srocc(p[va], y[va]):.4f} | {plcc(p[va], y[va]):.4f} | "
               f"{srocc((p + pf)[va], y[va]):.4f} | {time.time() - t0:.0f} | "
               f"{mix[a]:.4f} / {plcc(((1 - a) * p + a * pr)[va], y[va]):.4f} ({a}) |")
        print(row, file=sys.stderr, flush=True)
        lines.append(row)
    body = [f"PARA val sessions ({int(va.sum())} photos), split by session (`training/para_split.json`); every model "
            "fitted on the train sessions with mirror images, as `piaa train-prior` fits the shipped one "
            "(ridge: penalty chosen on val from the trainer's grid; MLP: the trainer's ensemble of 3, PCA-256, "
            "128 GELU units, 15 epochs). Flip TTA averages the predictions for the photo and its mirror image "
            "(not shipped: it doubles the backbone's work at import).", ""] + lines
    for path in args.finetune_report:
        if not path.exists():
            continue
        text = path.read_text()
        rep = json.loads(text[text.index("{"):])  # the weights package prints a line before the report
        ep = [k for k in rep if k.startswith("epoch_")]
        body += ["", f"Fine-tuning the backbone's tail (training/finetune_tail.py, the last {rep['blocks']} MBConv "
                 f"block(s) + the head conv, lr {rep['lr']}, MSE + {rep['rank_weight']} x pairwise rank loss, "
                 f"{rep.get('train_photos', '?')} train photos + mirrors, on {rep['device']}), measured by a ridge head on "
                 "the fine-tuned 1280-d head features (mirror-averaged; epoch 0 = frozen), val SROCC per epoch: "
                 + ", ".join(f"{k.replace('_', ' ')} {rep[k]['val_srocc_ridge']:.4f}" for k in ep)
                 + f"; gain over the frozen head features {rep['gain_over_frozen']:+.4f}."]
    text = "\n".join(body)
    print(text)
    if args.write:
        from _results import write_section

        cmd = ("nice -n 10 /work/main/.venv-test/bin/python benchmarks/taste_features.py --finetune-report "
               "/work/cache/taste2/ft_b0.json /work/cache/taste2/ft_b1.json --write")
        if args.finetuned_cache:
            cmd += f" --finetuned-cache {args.finetuned_cache}"
        if args.rows:
            cmd += f" (table rows from an earlier full run of it, reused with --rows {args.rows})"
        write_section(TITLE, cmd, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
