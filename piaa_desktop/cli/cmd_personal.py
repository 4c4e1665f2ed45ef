"""CLI commands of the personal aesthetic score.

    piaa personalize [--reset] [--json]          adapt the personal model to the catalog's feedback
    piaa train-prior [--data DIR] [...]          train models/personal_prior.npz from PARA (reproducible)
    piaa bench personalize --images DIR (--ratings CSV | --pairs CSV) [--shots 0,10,100] [--repeats 20] [--seed 0] [--json]
    piaa bench simulate-raters --images DIR --out CSV --raters N [--seed 1000] [--split test]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cli():
    from piaa_desktop.cli import main as m

    return m


def _int_list(s: str) -> list[int]:
    try:
        vals = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}")
    if not vals or any(v < 0 for v in vals):
        raise argparse.ArgumentTypeError("shot counts must be integers >= 0 (0 = zero-shot)")
    return vals


def cmd_personalize(args) -> int:
    m = _cli()
    from piaa_desktop.core.models import ModelError
    from piaa_desktop.core.personal import operations as jobs

    cat = m.open_catalog_for(args)
    try:
        if args.reset:
            n = jobs.reset_to_prior(cat)
            out = {"accepted": True, "version": "prior", "n_scored": n, "message": "reset to the prior"}
        else:
            res = jobs.personalize(cat, m._paths(args), progress=m.ProgressBar(not args.json),
                                   use_task_vectors=args.task_vectors)
            out = {k: getattr(res, k) for k in ("accepted", "model_id", "version", "n_ratings", "n_preferences",
                                                 "n_scored", "metrics", "message")}
        out["confidence"] = jobs.taste_confidence(cat)  # the active model, in the Info panel's words
    except (jobs.PersonalError, ModelError) as exc:
        raise m.CliError(str(exc))
    finally:
        cat.close()
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(out["message"] + f"; {out['n_scored']} photos scored")
        if out.get("metrics"):
            cv = out["metrics"].get("cv_srocc")
            if cv is not None:
                # in words first (a photographer reads this), the statistic's name after for those who know it
                print(f"how well its order of your rated photos matches yours, on photos it had not seen: {cv:.2f} "
                      "(1 = the same order, 0 = unrelated; cross-validated SROCC)")
        if out.get("confidence"):
            print(out["confidence"])
    return 0 if out["accepted"] else 1


def cmd_train_prior(args) -> int:
    from piaa_desktop.training import train_para_prior

    m = _cli()
    return train_para_prior.run(args, progress=m.ProgressBar(True))


def cmd_bench_personalize(args) -> int:
    m = _cli()
    from piaa_desktop.core.models import ModelError
    from piaa_desktop.lab import bench
    from piaa_desktop.core.personal.datasets import RatingsError

    if not Path(args.images).is_dir():
        raise m.CliError(f"not a folder: {args.images}", m.EXIT_NOT_FOUND)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    if bool(args.ratings) == bool(args.pairs):
        raise m.CliError("give either --ratings CSV (user,image,score) or --pairs CSV "
                         "(user,image_left,image_right,winner)")
    methods = args.methods.split(",") if args.methods else None
    try:
        if args.pairs:
            results = bench.run_pairs_benchmark(
                Path(args.images), Path(args.pairs), shots=args.shots, repeats=args.repeats, seed=args.seed,
                methods=methods, progress=m.ProgressBar(not args.quiet), log=log)
        else:
            results = bench.run_benchmark(
                Path(args.images), Path(args.ratings), shots=args.shots, repeats=args.repeats, seed=args.seed,
                methods=methods, fmt=args.format, progress=m.ProgressBar(not args.quiet), log=log,
            )
    except (RatingsError, ModelError, FileNotFoundError, ValueError) as exc:
        raise m.CliError(str(exc))
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(bench.format_table(results))
    return 0


def cmd_simulate_raters(args) -> int:
    m = _cli()
    from piaa_desktop.lab import bench, simulate

    src = Path(args.images)
    if not src.is_dir():
        raise m.CliError(f"not a folder: {args.images}", m.EXIT_NOT_FOUND)
    exts = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}
    files = sorted(p for p in src.rglob("*") if p.suffix.lower() in exts and p.is_file())
    if args.split != "all":
        files = [p for p in files if simulate.image_split(p.name) == args.split]
    if len(files) < 2:
        raise m.CliError(f"need at least 2 photos under {src} (split {args.split})")
    if args.seed < 1000:
        print("note: seeds below 1000 are the meta-training raters; held-out raters use 1000 or more",
              file=sys.stderr)
    from piaa_desktop.core.embeddings import Backbone
    from piaa_desktop.core.embeddings import preprocess
    from piaa_desktop.core.imageio import ImageError, load_rgb
    from piaa_desktop.core.signals import compute_signals
    from piaa_desktop.core.catalog import SIGNAL_COLUMNS
    import numpy as np

    bb = Backbone.shared()
    names, embs, logits, sigs = [], [], [], []
    bar = m.ProgressBar(True)
    for i in range(0, len(files), 32):
        ims = []
        for p in files[i : i + 32]:
            try:
                im = load_rgb(p, max_size=512)
            except (ImageError, OSError) as exc:
                print(f"skipped {p}: {exc}", file=sys.stderr)
                continue
            ims.append(im)
            names.append(str(p.relative_to(src)))
            s = compute_signals(np.asarray(im))
            sigs.append([s[c] for c in SIGNAL_COLUMNS])
        if ims:
            e, lg = bb.run(preprocess(ims))
            embs.append(e)
            logits.append(lg)
        bar(min(i + 32, len(files)), len(files), "embedding photos")
    n = simulate.simulate_ratings_csv(names, np.concatenate(embs), np.asarray(sigs, np.float32),
                                      np.concatenate(logits), args.out, args.raters, seed=args.seed,
                                      per_rater=args.per_rater)
    print(f"wrote {n} ratings by {args.raters} simulated raters over {len(names)} photos to {args.out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("personalize", help="learn your taste from your ratings and preferences")
    p.add_argument("--reset", action="store_true", help="go back to the prior (personal versions are kept)")
    p.add_argument("--task-vectors", action="store_true",
                   help="start from the prior mixed with its base heads (the PARA attribute heads: quality, composition, ...)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_personalize)

    from piaa_desktop.training.prior_args import add_arguments

    p = subparsers.add_parser("train-prior", help="train the aesthetic prior from PARA (models/personal_prior.npz)")
    add_arguments(p)
    p.set_defaults(func=cmd_train_prior)


def register_bench(bench_subparsers) -> None:
    p = bench_subparsers.add_parser("personalize", help="few-shot personalisation benchmark (SROCC/PLCC/pair accuracy)")
    p.add_argument("--images", required=True, help="folder with the rated photos")
    p.add_argument("--ratings", default="", help="ratings file (user,image,score CSV; FLICKR-AES, AADB, PARA)")
    p.add_argument("--pairs", default="",
                   help="pairwise answers instead of ratings: CSV user,image_left,image_right,winner[,category] "
                        "(winner repeats one of the two paths; paths relative to --images)")
    p.add_argument("--format", default="auto", choices=["auto", "generic", "flickr-aes", "aadb", "para"])
    p.add_argument("--shots", type=_int_list, default=[10, 100], help="comma-separated shot counts, 0 = zero-shot (default 10,100); with --pairs: training pairs")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default="", help="comma-separated subset of methods (default: all)")
    p.add_argument("--json", action="store_true", help="JSON only on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_bench_personalize)

    p = bench_subparsers.add_parser("simulate-raters", help="write a user,image,score CSV of simulated raters")
    p.add_argument("--images", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--raters", type=int, default=10)
    p.add_argument("--seed", type=int, default=1000, help="rater seed (>= 1000: not used in meta-training)")
    p.add_argument("--per-rater", type=int, default=None, help="photos rated by each rater (default: all)")
    p.add_argument("--split", choices=["all", "train", "test"], default="all",
                   help="only photos of this name-hash split (test = held out from meta-training)")
    p.set_defaults(func=cmd_simulate_raters)
