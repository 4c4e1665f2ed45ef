"""CLI commands of the enhancer.

    piaa --data-dir D enhance [--train] [--json] [PHOTO_PATH ...]
        auto-enhance the named photos (all photos without a user edit when none is named);
        --train first fine-tunes the personal enhancer on the photos you edited yourself
    piaa bench enhance --pairs DIR [--train N] [--repeats R | --folds K] [--rounds K] [--seed S] [--json]
    piaa bench enhance --train-pairs DIR1 --test-pairs DIR2 [--json]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _cli():
    from piaa_desktop.cli import main as m

    return m


def _open_catalog(args):
    m = _cli()
    if hasattr(m, "open_catalog_for"):
        return m.open_catalog_for(args)
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths

    return open_catalog(app_paths(args.data_dir))


def cmd_enhance(args) -> int:
    m = _cli()
    from piaa_desktop.core.enhance import EnhancerError, auto_enhance_photos, load_enhancer, train_enhancer_from_catalog
    from piaa_desktop.core.paths import app_paths

    paths = app_paths(args.data_dir).ensure()
    cat = _open_catalog(args)
    out: dict = {}
    try:
        if args.photos:
            ids = []
            for p in args.photos:
                ph = cat.photo_by_path(p)
                if ph is None:
                    raise m.CliError(f"not in the catalog: {p} (run 'piaa scan FOLDER' first)", m.EXIT_NOT_FOUND)
                ids.append(ph.id)
        else:
            user = set(cat.edits(source="user"))
            ids = [i for i in cat.query_ids(sort="added") if i not in user]
        if args.train:
            from piaa_desktop.core.jobs import Cancelled

            try:
                out["training"] = train_enhancer_from_catalog(cat, paths, progress=m.ProgressBar(not args.json))
            except EnhancerError as exc:
                raise m.CliError(f"your retouching style was not learned: {exc}")
            except (Cancelled, KeyboardInterrupt):
                raise
            except Exception as exc:  # never a traceback: say what failed; nothing was changed
                raise m.CliError(
                    f"your retouching style was not learned: {type(exc).__name__}: {exc}. Your photos and any "
                    "previously learned style are unchanged."
                )
        try:
            model = load_enhancer(paths)
            change = auto_enhance_photos(cat, ids, paths, progress=m.ProgressBar(not args.json), model=model)
        except EnhancerError as exc:
            raise m.CliError(str(exc))
        out["model"] = "personal" if model.meta.get("source") == "personal" else "generic"
        out["photos"] = [
            {"path": cat.photo(i).path, "params": change.after[i]} for i in change.photo_ids if change.after.get(i)
        ]
    finally:
        cat.close()
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        if "training" in out:
            t = out["training"]
            print(f"personal enhancer trained on {t['n_pairs']} of your edits in {t['seconds']:.0f} s")
        for row in out["photos"]:
            changed = {k: v for k, v in row["params"].items() if v}
            print(f"{row['path']}: " + (", ".join(f"{k} {v:+g}" for k, v in changed.items()) or "no change"))
        which = ("your learned retouching style" if out["model"] == "personal"
                 else "the generic model (no personal style learned yet: piaa enhance --train)")
        print(f"{len(out['photos'])} photos auto-enhanced with {which}; undo in the app, or re-edit them",
              file=sys.stderr)
    return 0


def cmd_bench_enhance(args) -> int:
    m = _cli()
    from piaa_desktop.lab.enhance_bench import run_bench

    if (args.train_pairs is None) != (args.test_pairs is None):
        raise m.CliError("--train-pairs and --test-pairs go together", m.EXIT_USAGE)
    if args.train_pairs is None and args.pairs is None:
        raise m.CliError("give --pairs DIR, or --train-pairs DIR1 --test-pairs DIR2", m.EXIT_USAGE)
    for d in (args.pairs, args.train_pairs, args.test_pairs):
        if d is not None and not Path(d).is_dir():
            raise m.CliError(f"not a folder: {d}", m.EXIT_NOT_FOUND)
    log = None if args.json else (lambda s: print(s, file=sys.stderr, flush=True))
    try:
        rows = run_bench(
            Path(args.pairs) if args.pairs else None,
            train_n=args.train,
            repeats=args.repeats,
            train_dir=Path(args.train_pairs) if args.train_pairs else None,
            test_dir=Path(args.test_pairs) if args.test_pairs else None,
            rounds=args.rounds,
            seed=args.seed,
            log=log,
            folds=args.folds,
        )
    except (FileNotFoundError, ValueError) as exc:
        raise m.CliError(str(exc), m.EXIT_USAGE)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'method':<16}{'train':>6}{'test':>6}{'reps':>6}{'PSNR dB':>10}{'CIEDE2000':>11}")
        for r in rows:
            print(f"{r['method']:<16}{r['train']:>6}{r['test']:>6}{r['repeats']:>6}{r['psnr_mean']:>10.2f}{r['de2000_mean']:>11.2f}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("enhance", help="auto-enhance photos with the (personal) enhancer")
    p.add_argument("photos", nargs="*", metavar="PHOTO_PATH",
                   help="photos to enhance (default: every photo you have not edited yourself)")
    p.add_argument("--train", action="store_true", help="first learn from the photos you edited yourself")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_enhance)


def register_bench(bench_subparsers) -> None:
    p = bench_subparsers.add_parser("enhance", help="enhancer benchmark on input/target pairs (PSNR, CIEDE2000)")
    p.add_argument("--pairs", help="folder with input/ and a target folder of the same file names")
    p.add_argument("--train", type=int, default=15, help="pairs to learn from per split (default 15)")
    p.add_argument("--repeats", type=int, default=1, help="random splits (default 1)")
    p.add_argument("--folds", type=int, default=0,
                   help="K disjoint test folds instead (every pair tested once; overrides --train/--repeats)")
    p.add_argument("--train-pairs", help="learn from all pairs of this folder ...")
    p.add_argument("--test-pairs", help="... and evaluate on all pairs of this one")
    p.add_argument("--rounds", type=int, default=10, help="policy training rounds per split (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="stdout carries only the JSON rows")
    p.set_defaults(func=cmd_bench_enhance)
