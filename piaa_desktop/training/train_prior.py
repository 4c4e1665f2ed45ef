"""Train the personal-aesthetic prior shipped as ``models/personal_prior.npz``.

    piaa train-prior --data ../shared/data            (or: python -m piaa_desktop.training.train_prior)

Steps (all seeded; a few minutes on 2 CPU cores, CUDA used for meta-training when torch sees it):

1. features of ``shared/data`` (cached once in ``--cache``, see training.personal_data);
2. the feature transform: whitening PCA (k=64) of the embeddings of the *training* photos of bsds500
   (the deterministic name-hash split of lab.simulate.image_split; 40 % are held out) plus
   standardised pixel signals;
3. the base heads without human labels (training.train_base_heads);
4. simulated raters (lab.simulate): ``--train-raters`` raters (seed 0) rate the training
   photos; the average-rater baseline is ridge regression on their mean standardised ratings;
5. bilevel meta-training (core.personal.meta, torch.func) of the head initialisation, per-parameter
   inner learning rates and pulls; the uniform learning rate/pull of the fine-tuning baseline is tuned
   on the same training raters by grid search;
6. evaluation on *held-out raters* (seed 1000) over *held-out photos*, written to the manifest.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from piaa_desktop.core.personal.adapt import calibrate, inner_loop
from piaa_desktop.core.personal.heads import FeatureTransform, Prior
from piaa_desktop.core.personal.meta import MetaConfig, TaskBatch, meta_train
from piaa_desktop.lab.simulate import Population, image_split

SHOT_CHOICES = np.array([1, 3, 5, 10, 10, 20, 30, 50, 100])
PAIR_CHOICES = np.array([0, 0, 0, 5, 10, 30])
S_MAX, P_MAX, Q = 100, 30, 100
N0 = 3.0


class RaterPool:
    """Utilities and rating parameters of simulated raters over one photo pool."""

    def __init__(self, pop: Population, n: int, seed: int):
        self.pop = pop
        self.raters = pop.raters(n, seed)
        self.U = np.stack([pop.utility(r) for r in self.raters])
        self.mu = np.array([r.mu for r in self.raters])
        self.scale = np.array([r.scale for r in self.raters])

    def stars(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self.pop.stars(self.raters[k], rng, self.U[k])


def make_sampler(pool: RaterPool, phi: np.ndarray, pop_mu: float, pop_sd: float):
    d = phi.shape[1]
    n_img = len(phi)

    def sample(rng: np.random.Generator, B: int) -> TaskBatch:
        xs = np.zeros((B, S_MAX, d), np.float32); zs = np.zeros((B, S_MAX), np.float32); ms = np.zeros((B, S_MAX), np.float32)
        dw = np.zeros((B, P_MAX, d), np.float32); mp = np.zeros((B, P_MAX), np.float32)
        xq = np.zeros((B, Q, d), np.float32); zq = np.zeros((B, Q), np.float32); mq = np.zeros((B, Q), np.float32)
        for b in range(B):
            k = int(rng.integers(len(pool.raters)))
            y = pool.stars(k, rng)
            ns = min(int(rng.choice(SHOT_CHOICES)), n_img // 2); npair = int(rng.choice(PAIR_CHOICES))
            if rng.random() < 0.1:
                ns = 0
                npair = max(npair, 5)
            perm = rng.permutation(n_img)
            sup, qry, rest = perm[:ns], perm[ns : ns + Q], perm[ns + Q :]
            mu, sd = calibrate(y[sup], pop_mu, pop_sd, N0)
            xs[b, :ns] = phi[sup]; zs[b, :ns] = (y[sup] - mu) / sd; ms[b, :ns] = 1
            if npair:
                cand = rest if len(rest) >= 2 else perm[ns:]
                pr = rng.choice(cand, (npair, 2))
                pr = pr[pr[:, 0] != pr[:, 1]]
                first = pool.pop.preferences(pool.raters[k], pr, rng, pool.U[k]) > 0.5
                win = np.where(first, pr[:, 0], pr[:, 1]); lose = np.where(first, pr[:, 1], pr[:, 0])
                dw[b, : len(pr)] = phi[win] - phi[lose]; mp[b, : len(pr)] = 1
            xq[b, : len(qry)] = phi[qry]; zq[b, : len(qry)] = (y[qry] - mu) / sd; mq[b, : len(qry)] = 1
        return TaskBatch(xs, zs, ms, dw, mp, xq, zq, mq)

    return sample


def tune_finetune(pool: RaterPool, phi: np.ndarray, w: np.ndarray, b: float, pop_mu: float, pop_sd: float,
                  steps: int, rng: np.random.Generator, n_tasks: int = 150) -> tuple[float, float, float]:
    """Grid-search a uniform learning rate and pull for fine-tuning the average-rater head."""
    from piaa_desktop.core.personal.metrics import srocc

    tasks = []
    for _ in range(n_tasks):
        k = int(rng.integers(len(pool.raters)))
        y = pool.stars(k, rng)
        ns = int(rng.choice([10, 10, 30, 100]))
        perm = rng.permutation(len(phi))
        tasks.append((y, perm[:ns], perm[ns:]))
    best = None
    for lr in (0.003, 0.01, 0.03, 0.1):
        for rho in (0.0, 0.03, 1.0):
            s = []
            for y, sup, ev in tasks:
                mu, sd = calibrate(y[sup], pop_mu, pop_sd, N0)
                th = inner_loop(np.append(w, b), phi[sup], (y[sup] - mu) / sd, np.zeros((0, phi.shape[1])),
                                np.zeros((0, phi.shape[1])), np.full(len(w) + 1, lr), np.full(len(w) + 1, rho), steps, 1.0)
                s.append(srocc(phi[ev] @ th[:-1] + th[-1], y[ev]))
            m = float(np.mean(s))
            if best is None or m > best[0]:
                best = (m, lr, rho)
    return best[1], best[2], best[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="piaa train-prior", description="meta-train the personal aesthetic prior")
    add_arguments(ap)
    args = ap.parse_args(argv)
    return run(args)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    from piaa_desktop.training.personal_data import DEFAULT_CACHE

    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data",
                    help="shared data folder with bsds500/ and fivek_expert_c/")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="feature cache (.npz), built when missing")
    ap.add_argument("--out", type=Path, default=None, help="output .npz (default models/personal_prior.npz)")
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--meta-batch", type=int, default=24)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--train-raters", type=int, default=800)
    ap.add_argument("--eval-raters", type=int, default=100)
    ap.add_argument("--eval-repeats", type=int, default=5)
    ap.add_argument("--pca", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-manifest", action="store_true", help="do not update models/manifest.json")


def run(args, progress=None, cancel=None, log=None) -> int:
    from piaa_desktop.core.models import update_manifest_entry
    from piaa_desktop.core.paths import models_dir
    from piaa_desktop.lab import bench
    from piaa_desktop.training import personal_data
    from piaa_desktop.training.train_base_heads import train_base_heads

    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    t0 = time.time()
    if not args.cache.exists():
        log(f"building the feature cache {args.cache} from {args.data} (once)")
        personal_data.build_cache(args.data, args.cache, seed=args.seed)
    cache = personal_data.load_cache(args.cache)
    names = [str(n) for n in cache["orig_names"]]
    train = np.array([image_split(n) == "train" for n in names])
    emb, sig, logits = cache["orig_emb"], cache["orig_sig"], cache["orig_logits"].astype(np.float32)
    tf = FeatureTransform.fit(emb[train], sig[train], k=args.pca)
    phi = tf(emb, sig)
    log(f"{train.sum()} training photos, {(~train).sum()} held-out photos, feature dim {tf.dim}")

    base = train_base_heads(cache, tf, train, log=log)

    pop = Population(emb[train], sig[train], logits[train])
    pool = RaterPool(pop, args.train_raters, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    ys = np.stack([pool.stars(k, rng) for k in range(len(pool.raters))])
    pop_mu = float(ys.mean())
    pop_sd = float(ys.std(axis=1).mean())
    zs = (ys - ys.mean(1, keepdims=True)) / (ys.std(1, keepdims=True) + 1e-6)
    phi_tr = phi[train]
    avg_w, avg_b = bench.ridge_loo(phi_tr, zs.mean(0), lambdas=(1, 10, 100, 1000))
    log(f"population stars mean {pop_mu:.2f} sd {pop_sd:.2f}; average-rater head fitted")

    ft_lr, ft_rho, ft_s = tune_finetune(pool, phi_tr, avg_w, avg_b, pop_mu, pop_sd, args.steps, rng)
    log(f"fine-tune baseline: lr {ft_lr} pull {ft_rho} (train-rater SROCC {ft_s:.3f})")

    cfg = MetaConfig(steps=args.steps, iterations=args.iterations, meta_batch=args.meta_batch, seed=args.seed)
    res = meta_train(make_sampler(pool, phi_tr, pop_mu, pop_sd), tf.dim, avg_w, avg_b, cfg,
                     progress=progress, cancel=cancel, log=log)
    if not (np.all(np.isfinite(res["w0"])) and np.all(np.isfinite(res["lr"]))):
        raise FloatingPointError("meta-training produced non-finite parameters")
    log(f"meta-training done on {res['device']} in {time.time() - t0:.0f}s; "
        f"lr median {np.median(res['lr']):.3g}, pull median {np.median(res['rho']):.3g}")

    prior = Prior(
        transform=tf, w0=res["w0"].astype(np.float32), b0=res["b0"], lr=res["lr"].astype(np.float32),
        rho=res["rho"].astype(np.float32), steps=args.steps, pair_weight=cfg.pair_weight, pop_mu=pop_mu,
        pop_sd=pop_sd, n0=N0, resid=float(np.sqrt(np.mean(res["history"][-100:]))), avg_w=avg_w.astype(np.float32),
        avg_b=float(avg_b), ft_lr=ft_lr, ft_rho=ft_rho, base_names=base["names"], base_w=base["W"], base_b=base["B"],
        info={},
    )

    # held-out raters over held-out photos
    test_pop = Population(emb[~train], sig[~train], logits[~train])
    test_pool = RaterPool(test_pop, args.eval_raters, seed=1000 + args.seed)
    erng = np.random.default_rng(1000 + args.seed)
    e_te = emb[~train]
    ez = (e_te - e_te.mean(0)) / (e_te.std(0) + 1e-6)
    users = [bench.UserData(r.rid, phi[~train], ez, test_pool.stars(k, erng)) for k, r in enumerate(test_pool.raters)]
    methods = bench.method_names(prior) + [f"base:{n}" for n in prior.base_names]
    results = bench.evaluate(prior, users, (10, 100), args.eval_repeats, args.seed, methods)
    log(bench.format_table(results))
    prior.info = {
        "trained_at": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(time.time() - t0, 1),
        "device": res["device"], "train_photos": int(train.sum()), "heldout_photos": int((~train).sum()),
        "train_raters": args.train_raters, "eval_raters": args.eval_raters, "iterations": args.iterations,
        "base_metrics": base["metrics"], "heldout": results,
        "final_query_loss": float(np.mean(res["history"][-100:])), "first_query_loss": float(np.mean(res["history"][:50])),
    }
    out = args.out or (models_dir() / "personal_prior.npz")
    prior.save(out)
    log(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    if not args.no_manifest and args.out is None:
        get = {(r["method"], r["shots"]): r for r in results}
        metric = "; ".join(
            f"{m} @{k}: SROCC {get[(m, k)]['srocc_mean']:.3f}"
            for k in (10, 100) for m in ("prior", "avg_rater", "ridge", "avg_finetune", "meta") if (m, k) in get
        )
        update_manifest_entry("personal_prior", {
            "file": out.name,
            "kind": "personal aesthetic prior: linear taste head over PCA(embedding)+signals, meta-learned "
                    "init/step sizes/pulls, average-rater baseline, base heads (task vectors); numpy inference",
            "license": "MIT (trained here)",
            "data": "bsds500 training split (name-hash 60 %) with simulated raters (lab/simulate.py, seed "
                    f"{args.seed}, {args.train_raters} raters); base heads from self-made degradations/crops of "
                    "bsds500 and the 20 FiveK Expert C pairs",
            "trained": "piaa train-prior --data ../shared/data" + (
                f" --iterations {args.iterations}" if args.iterations != 1000 else ""),
            "metric": f"held-out simulated raters ({args.eval_raters}, seed {1000 + args.seed}) on held-out photos "
                      f"({(~train).sum()}), {args.eval_repeats} repeats: {metric}; base heads: "
                      + json.dumps(base["metrics"]),
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
