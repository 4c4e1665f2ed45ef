"""Personal aesthetic score: speed targets and the few-shot benchmark on held-out simulated raters.

    nice -n 10 .venv/bin/python benchmarks/personal_bench.py --write

1. adaptation time for 100 ratings (+20 preferences) on real photo features (target < 2 s, 2 cores);
2. re-scoring 100,000 cached embeddings with a personal head (target < 1 s);
3. end to end with the CLI: ``piaa bench simulate-raters`` over the *held-out* bsds500 photos with
   held-out rater seeds, then ``piaa bench personalize`` on that CSV (timed), and the 300-photo timing
   run (one simulated user who rated 300 photos, the issue's "< 10 minutes on 2 cores" target).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from _results import median_time  # noqa: E402  (benchmarks/ is on the path)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--raters", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    from piaa_desktop.core.personal import operations as jobs
    from piaa_desktop.core.personal.adapt import adapt
    from piaa_desktop.lab.bench import format_table
    from piaa_desktop.core.personal.heads import load_prior, score_library
    from piaa_desktop.lab.simulate import image_split
    from piaa_desktop.lab.bsds_features import DEFAULT_CACHE, load_cache

    prior = load_prior()
    lines = []
    # 1. adaptation speed on real features
    cache = load_cache(DEFAULT_CACHE) if DEFAULT_CACHE.exists() else None
    rng = np.random.default_rng(0)
    if cache is not None:
        feats = prior.features(cache["orig_emb"], cache["orig_sig"])
    else:
        feats = rng.normal(size=(500, prior.dim)).astype(np.float32)
    idx = rng.choice(len(feats), 100, replace=False)
    stars = rng.integers(1, 6, 100).astype(float)
    w, l = rng.choice(len(feats), 20), rng.choice(len(feats), 20)
    t_adapt = median_time(lambda: adapt(prior, feats[idx], stars, feats[w], feats[l]), 20)
    t_fit = median_time(lambda: jobs.fit_head(prior, feats[idx], stars, feats[w], feats[l], True), 10)
    t_cv = median_time(lambda: jobs._cv_srocc(prior, feats[idx], stars, False), 5)
    # 2. re-scoring 100k cached photos
    head = adapt(prior, feats[idx], stars)
    emb = rng.normal(size=(100_000, 1280)).astype(np.float32)
    sig = rng.normal(size=(100_000, 10)).astype(np.float32)
    t_score = median_time(lambda: score_library(head, prior.transform, emb, sig), 5)
    lines += [
        "Speed (this machine, 2 shared CPU cores, numpy; no torch at run time):",
        "",
        "| step | median time | target |",
        "|---|---|---|",
        f"| adapt from the prior to 100 ratings + 20 preferences | {t_adapt * 1000:.1f} ms | < 2 s |",
        f"| same with the task-vector mixture fitted first | {t_fit * 1000:.1f} ms | |",
        f"| 5-fold cross-validated SROCC shown after training (5 adaptations) | {t_cv * 1000:.1f} ms | |",
        f"| re-score 100,000 cached embeddings (stars + 5-bin distributions) | {t_score * 1000:.0f} ms | < 1 s |",
        "",
    ]
    del emb, sig

    # 3. the CLI benchmark on held-out raters and held-out photos
    bsds = args.data / "bsds500"
    env = dict(os.environ, OMP_NUM_THREADS="2")
    piaa = [sys.executable, "-m", "piaa_desktop.cli.main"]
    with tempfile.TemporaryDirectory() as td:
        csv_path = Path(td) / "heldout.csv"
        cmd_sim = ["bench", "simulate-raters", "--images", str(bsds), "--out", str(csv_path), "--raters",
                   str(args.raters), "--seed", "1000", "--split", "test"]
        subprocess.run(piaa + cmd_sim, check=True, env=env, capture_output=True)
        cmd = ["bench", "personalize", "--images", str(bsds), "--ratings", str(csv_path), "--shots", "10,100",
               "--repeats", str(args.repeats), "--seed", "0", "--json", "--quiet"]
        t = time.perf_counter()
        out = subprocess.run(piaa + cmd, check=True, env=env, capture_output=True, text=True)
        t_bench = time.perf_counter() - t
        results = json.loads(out.stdout)
        # the 300-photo timing run: one user who rated 300 photos (all splits)
        one = Path(td) / "one.csv"
        subprocess.run(piaa + ["bench", "simulate-raters", "--images", str(bsds), "--out", str(one), "--raters", "1",
                               "--seed", "2000", "--per-rater", "300"], check=True, env=env, capture_output=True)
        t = time.perf_counter()
        subprocess.run(piaa + ["bench", "personalize", "--images", str(bsds), "--ratings", str(one), "--json",
                               "--quiet"], check=True, env=env, capture_output=True)
        t_300 = time.perf_counter() - t
    n_photos = sum(1 for p in bsds.glob("*.jpg") if image_split(p.name) == "test")
    lines += [
        f"Few-shot benchmark, {args.raters} held-out simulated raters (seed 1000; meta-training used seed 0) over "
        f"the {n_photos} held-out bsds500 photos (name-hash split; the prior never saw them), "
        f"{args.repeats} random support sets per rater and shot count; the other photos of the rater are scored. "
        f"Wall time {t_bench:.0f} s including embedding the photos:",
        "",
        "```",
        "piaa bench simulate-raters --images ../shared/data/bsds500 --out heldout.csv --raters "
        f"{args.raters} --seed 1000 --split test",
        "piaa bench personalize --images ../shared/data/bsds500 --ratings heldout.csv --shots 10,100 "
        f"--repeats {args.repeats} --seed 0 --json",
        "```",
        "",
        "| method | shots | SROCC mean ± sd | PLCC | pairwise acc. | SROCC minus meta (paired mean ± s.e.) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        vs = (f"{r['srocc_minus_meta_mean']:+.3f} ± {r['srocc_minus_meta_sem']:.3f}"
              if "srocc_minus_meta_mean" in r else "")
        lines.append(f"| {r['method']} | {r['shots']} | {r['srocc_mean']:.3f} ± {r['srocc_std']:.3f} | "
                     f"{r['plcc_mean']:.3f} | {r['pair_acc_mean']:.3f} | {vs} |")
    get = {(r["method"], r["shots"]): r["srocc_mean"] for r in results}
    base = get.get(("meta", 10))
    tv = [f"{m[8:]} {get[(m, k)] - get[('meta', k)]:+.3f} @{k}" for k in (10, 100)
          for m in sorted({r['method'] for r in results if r['method'].startswith('meta+tv:')})]
    lines += [
        "",
        f"Meta-learned prior adapted vs average-rater fine-tuned vs ridge at 10 shots: SROCC {base:.3f} vs "
        f"{get.get(('avg_finetune', 10)):.3f} vs {get.get(('ridge', 10)):.3f}.",
        "Task vectors (SROCC change over `meta` from adding the base head(s) with coefficients fitted to the "
        "user's rankings): " + "; ".join(tv) + ".",
        "",
        f"300-photo timing run (one simulated user, 300 rated photos, default --shots 10,100 --repeats 20, all "
        f"methods): {t_300:.0f} s wall (target < 10 minutes on 2 cores).",
    ]
    held = prior.info.get("heldout") or []
    if held:
        lines += [
            "",
            f"The evaluation written by `piaa train-prior` into the model ({prior.info.get('eval_raters')} held-out raters, "
            "seed 1000, on the held-out photos, 5 repeats; `base:NAME` is a base head alone with no user data):",
            "",
            "| method | SROCC @10 | SROCC @100 |",
            "|---|---|---|",
        ]
        hg = {(r["method"], r["shots"]): r["srocc_mean"] for r in held}
        for m in dict.fromkeys(r["method"] for r in held):
            lines.append(f"| {m} | {hg.get((m, 10), float('nan')):.3f} | {hg.get((m, 100), float('nan')):.3f} |")
    lines += [
        "",
        "Reading: the meta-learned prior adapted beats fine-tuning the average-rater model (same loss, grid-tuned "
        "uniform step and pull) and ridge on embeddings at 10 and at 100 shots; with no user data the "
        "average-rater head ranks better than the meta-learned initialisation, so it is the generic score. "
        "The base heads (task vectors) rank their own held-out pairs well (see models/README.md) but neither "
        "alone nor mixed do they help on simulated raters, whose tastes are built from attributes the adapted "
        "head already sees; `piaa personalize` therefore leaves them off unless `--task-vectors` is given. "
        "All of this is on simulated raters (models/README.md lists the simulator's limits).",
    ]
    body = "\n".join(lines)
    print(body)
    print(format_table(results), file=sys.stderr)
    if args.write:
        from _results import write_section

        write_section("Personal aesthetic score (few-shot personalisation)",
                      "nice -n 10 .venv/bin/python benchmarks/personal_bench.py --write", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
