"""Learning from "which do you prefer?" answers: every adaptation method on three simulated rater families.

    PIAA_PARA_CACHE=/work/cache/taste3 nice -n 10 /work/main/.venv-test/bin/python benchmarks/pairs_bench.py --write

For each rater: ``--pairs`` answered comparisons over PARA *val*-session photos (``training/para_split.json``;
the test sessions are never read); k = 0 / 10 / 50 / 100 of them are the training pairs, the accuracy is
measured on the rater's other pairs; ``--repeats`` random training sets per rater and k. Raters are split
into *train* raters (seed 0: anything chosen, e.g. a method's setting, is chosen on them) and *val* raters
(seed 1000: reported). Families:

* ``old``: the hand-written simulator (lab/simulate.py), choices from its utility (pair temperature 0.3);
* ``realistic``: lab/para_raters.py (each photo's real PARA histogram), random pairs, as train-prior draws them;
* ``content``: lab/content_raters.py (strong content preferences), a personal liking of PARA's 9 content labels plus personal attribute
  weights, half the pairs within one label; ``content3``: the same over 3 labels only (plant, building,
  still life: the nearest to a flowers / houses / paintings study); ``content3_mild``: mild preferences (MILD).

The shipped prior is used as it is; the drawn users are cached under ``--cache-dir``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

TITLE = "Learning from 'which do you prefer?' answers: three rater families (issue 10, pairs)"
FAMILIES = ("old", "realistic", "content", "content3", "content3_mild")
METHODS = ["generic", "ridge", "residual", "residual_auto", "residual_auto:T1", "avg_finetune", "meta", "meta+tv:mix"]
SHOTS = (0, 10, 50, 100)
CONTENT3 = ("plant", "building", "stilllife")


def _pairs_from(pop_choose, n_items: int, n_pairs: int, rng) -> tuple[np.ndarray, np.ndarray]:
    pr = rng.choice(n_items, (n_pairs + n_pairs // 4, 2))
    pr = pr[pr[:, 0] != pr[:, 1]][:n_pairs]
    first = pop_choose(pr) > 0.5
    return np.where(first, pr[:, 0], pr[:, 1]), np.where(first, pr[:, 1], pr[:, 0])


def build(prior, data: Path, cache: Path, logits_path: Path, n_raters: int, n_pairs: int) -> dict:
    """{family: {"phi": (N, d), "ez": (N, E), "train": [(win, lose)], "val": [(win, lose)]}} (indices)."""
    from piaa_desktop.lab.content_raters import MILD, ContentPopulation
    from piaa_desktop.lab.para_raters import RealPopulation
    from piaa_desktop.lab.simulate import Population
    from piaa_desktop.training.para_data import SEMANTICS, load_para, session_split
    from piaa_desktop.training.train_para_prior import imagenet_logits, load_features

    para = load_para(data)
    f = load_features(cache, data, log=lambda s: print(s, file=sys.stderr))
    emb, sig = f["emb"], f["sig"]
    va = session_split(para.sessions) == "val"
    phi_all = prior.transform(emb, sig)
    out = {}

    def ez_of(m):
        e = emb[m]
        return (e - e.mean(0)) / (e.std(0) + 1e-6)

    # older simulator over every val photo
    if logits_path.exists():
        logits = np.load(logits_path)
    else:
        logits = imagenet_logits(emb[va])
        np.save(logits_path, logits)
    pop = Population(emb[va], sig[va], logits)
    fam = {"phi": phi_all[va], "ez": ez_of(va)}
    for part, seed in (("train", 0), ("val", 1000)):
        rng = np.random.default_rng(seed + 1)
        us = []
        for r in pop.raters(n_raters, seed):
            u = pop.utility(r)
            us.append(_pairs_from(lambda pr: pop.preferences(r, pr, rng, u), len(u), n_pairs, rng))
        fam[part] = us
    out["old"] = fam
    # realistic PARA raters over the val photos with histograms
    hv = va & para.has_attr
    rpop = RealPopulation(para.hist9[hv], para.attrs[hv], para.semantic[hv], emb[hv])
    fam = {"phi": phi_all[hv], "ez": ez_of(hv)}
    for part, seed in (("train", 0), ("val", 1000)):
        rng = np.random.default_rng(seed + 1)
        us = []
        for r in rpop.raters(n_raters, seed):
            lat = rpop.latent(r, rng)
            us.append(_pairs_from(lambda pr: rpop.preferences(lat, pr, rng), len(lat), n_pairs, rng))
        fam[part] = us
    out["realistic"] = fam
    # content raters: PARA's content labels
    for name, labels, cfg in (("content", SEMANTICS, None), ("content3", CONTENT3, None),
                              ("content3_mild", CONTENT3, MILD)):
        keep = hv & np.isin(para.semantic, [SEMANTICS.index(s) for s in labels])
        cpop = ContentPopulation(para.aesthetic[keep], para.attrs[keep], para.semantic[keep], emb[keep], cfg)
        fam = {"phi": phi_all[keep], "ez": ez_of(keep)}
        for part, seed in (("train", 0), ("val", 1000)):
            rng = np.random.default_rng(seed + 1)
            fam[part] = [cpop.answers(r, n_pairs, rng) for r in cpop.raters(n_raters, seed)]
        out[name] = fam
    return out


def _save(path: Path, fams: dict) -> None:
    arr = {}
    for name, fam in fams.items():
        arr[f"{name}/phi"], arr[f"{name}/ez"] = fam["phi"], fam["ez"]
        for part in ("train", "val"):
            arr[f"{name}/{part}/win"] = np.stack([w for w, _ in fam[part]])
            arr[f"{name}/{part}/lose"] = np.stack([l_ for _, l_ in fam[part]])
    np.savez(path, **arr)


def _load(path: Path) -> dict:
    z = np.load(path)
    fams = {}
    for name in FAMILIES:
        fam = {"phi": z[f"{name}/phi"], "ez": z[f"{name}/ez"]}
        for part in ("train", "val"):
            fam[part] = list(zip(z[f"{name}/{part}/win"], z[f"{name}/{part}/lose"]))
        fams[name] = fam
    return fams


def users_of(fam: dict, part: str, prefix: str) -> list:
    from piaa_desktop.lab import bench

    phi, ez = fam["phi"], fam["ez"]
    return [bench.PairUserData(f"{prefix}{k}", phi[w], phi[l_], ez[w], ez[l_]) for k, (w, l_) in enumerate(fam[part])]


def evaluate(prior, users, methods, predict, shots=SHOTS, repeats: int = 2, seed: int = 0) -> dict:
    """{(method, k): [accuracy per (user, split)]}, every method on the same splits."""
    from piaa_desktop.core.personal.metrics import margin_accuracy
    from piaa_desktop.lab import bench

    acc: dict = {}
    for u, k, tr, ev in bench._splits(users, lambda u: len(u.win), shots, repeats, seed, 10, None, None):
        for m in methods:
            acc.setdefault((m, k), []).append(margin_accuracy(predict(m, prior, u, tr, ev)))
    return acc


def predict(m, prior, u, tr, ev):
    """Margins of the evaluation pairs; ``residual_auto:T1`` is the app's default before the pair temperature
    (pairs' likelihood sigmoid(z_w - z_l); core.personal.adapt.PAIR_TEMPERATURE is 0.5)."""
    from piaa_desktop.lab import bench

    if m == "residual_auto:T1":
        from piaa_desktop.core.personal.adapt import fit_residual_auto, taste_blocks

        th0 = np.append(np.asarray(prior.avg_w, np.float64), float(prior.avg_b))
        if len(tr):
            th0 = fit_residual_auto(th0, np.zeros((0, prior.dim)), np.zeros(0), float(prior.info.get("residual_lambda", 30.0)),
                                    taste_blocks(prior), u.win[tr], u.lose[tr], prior.pair_weight,
                                    pair_temperature=1.0)[0]
        return (u.win[ev] - u.lose[ev]) @ th0[:-1]
    return bench.predict_pairs(m, prior, u, tr, ev)


def table(acc: dict, methods, default: str, shots=SHOTS, ref: str = "generic", ref2: str = "residual_auto:T1") -> list[str]:
    out = ["| method | " + " | ".join(f"@{k} pairs" for k in shots) + f" | minus {ref} @50 (paired ± s.e.) |"
           + (f" minus {ref2} @50 |" if ref2 in methods else ""),
           "|---|" + "---|" * (len(shots) + 1 + (ref2 in methods))]
    for m in methods:
        cells = [f"{np.mean(acc[(m, k)]):.3f} ± {np.std(acc[(m, k)]):.3f}" for k in shots]
        d = np.asarray(acc[(m, 50)]) - np.asarray(acc[(ref, 50)])
        cells.append(f"{d.mean():+.3f} ± {d.std(ddof=1) / np.sqrt(len(d)):.3f}" if m != ref else "")
        if ref2 in methods:
            d = np.asarray(acc[(m, 50)]) - np.asarray(acc[(ref2, 50)])
            cells.append(f"{d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(len(d)):.4f}" if m != ref2 else "")
        out.append(f"| {m}{' (default)' if m == default else ''} | " + " | ".join(cells) + " |")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("PIAA_PARA_CACHE", "/tmp/piaa-para-cache")))
    ap.add_argument("--cache-dir", type=Path, default=Path("/work/cache/pairs3"))
    ap.add_argument("--raters", type=int, default=40)
    ap.add_argument("--pairs", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--part", choices=("train", "val"), default="val")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from piaa_desktop.core.paths import models_dir
    from piaa_desktop.core.personal.heads import load_prior
    from piaa_desktop.lab.bench import default_method

    prior = load_prior()
    sha = hashlib.sha256((models_dir() / "personal_prior.npz").read_bytes()).hexdigest()[:12]
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    upath = args.cache_dir / f"pairs2_{sha}_{args.raters}_{args.pairs}.npz"
    t0 = time.time()
    if not upath.exists():
        _save(upath, build(prior, args.data, args.cache, args.cache_dir / "val_logits.npy", args.raters, args.pairs))
    fams = _load(upath)
    methods = args.methods.split(",")
    default = default_method(prior)
    res = {}
    for name in args.families.split(","):
        acc = evaluate(prior, users_of(fams[name], args.part, name), methods, predict, repeats=args.repeats)
        res[name] = acc
        print(f"{name} done {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    wall = time.time() - t0
    if args.json:
        print(json.dumps({name: [{"method": m, "shots": k, "pair_acc_mean": float(np.mean(v)),
                                  "pair_acc_std": float(np.std(v)), "n_runs": len(v),
                                  **({"default": True} if m == default else {})}
                                 for (m, k), v in acc.items()] for name, acc in res.items()}, indent=1))
        return 0
    names = {"old": "older hand-written simulator (lab/simulate.py), choices from its utility",
             "realistic": "realistic raters (lab/para_raters.py), random pairs",
             "content": "content raters (lab/content_raters.py), PARA's 9 content labels, half the pairs within a label",
             "content3": "content raters over 3 labels (plant, building, still life), half the pairs within a label",
             "content3_mild": "content raters over the same 3 labels, mild content preferences (lab/content_raters.py MILD)"}
    lines = [f"Prior `models/personal_prior.npz` (sha256 {sha}...); {args.raters} {args.part} raters per family "
             f"(seed {0 if args.part == 'train' else 1000}), {args.pairs} answered pairs each over PARA val-session "
             f"photos; k training pairs, accuracy on the rater's other pairs; {args.repeats} random training sets per "
             f"rater and k; mean ± sd over raters x sets. Wall time {wall:.0f} s.", ""]
    for name, acc in res.items():
        lines += [f"**{names[name]}**", ""] + table(acc, methods, default) + [""]
    body = "\n".join(lines)
    print(body)
    if args.write:
        from _results import write_section

        write_section(TITLE, "PIAA_PARA_CACHE=/work/cache/taste3 nice -n 10 /work/main/.venv-test/bin/python "
                             f"benchmarks/pairs_bench.py --part {args.part} --repeats {args.repeats} --write", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
