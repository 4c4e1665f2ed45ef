"""``piaa``: every core job of PIAA Desktop, headless.

Global options come before the command::

    piaa --data-dir DIR scan ~/Pictures/shoot
    piaa --data-dir DIR score --sort generic --format csv
    piaa rate ~/Pictures/shoot/a.jpg 4

Exit codes: 0 success, 1 failure, 2 bad usage, 3 a named photo or folder was not found,
130 interrupted. Progress goes to stderr; with ``--json`` stdout carries only JSON.
"""
from __future__ import annotations

import argparse
import csv
import errno
import importlib
import json
import os
import sqlite3
import sys
from typing import Optional

from piaa_desktop import __version__

from piaa_desktop.cli.common import (  # noqa: F401 - re-exported for the command modules
    EXIT_FAIL,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    ProgressBar,
    _paths,
    _report_sidecar_errors,
    open_catalog_for,
)

# Feature modules that add their own commands: ``register(subparsers)`` for top-level commands and
# ``register_bench(bench_subparsers)`` for ``piaa bench ...``.
COMMAND_MODULES = (
    "piaa_desktop.cli.cmd_personal",
    "piaa_desktop.cli.cmd_enhance",
    "piaa_desktop.cli.cmd_export",
    "piaa_desktop.cli.cmd_faces",
    "piaa_desktop.cli.cmd_library",
    "piaa_desktop.cli.cmd_develop",
)


def _find_photo(cat, path: str):
    photo = cat.photo_by_path(path)
    if photo is None:
        if not os.path.lexists(path):  # a typo: 'scan it first' would send the user the wrong way
            raise CliError(f"not in the catalog: {path} (there is no such file: check the path)", EXIT_NOT_FOUND)
        raise CliError(f"not in the catalog: {path} (run 'piaa scan FOLDER' first)", EXIT_NOT_FOUND)
    return photo


# ---------------------------------------------------------------------------------------- commands
def cmd_scan(args) -> int:
    from piaa_desktop.core.sync import import_library

    if not os.path.isdir(args.folder):
        raise CliError(f"not a folder: {args.folder}", EXIT_NOT_FOUND)
    paths = _paths(args)
    cat = open_catalog_for(args)
    try:  # with the settings the catalog's sidecar hook already loaded
        res = import_library(
            cat,
            args.folder,
            paths.thumbnails,
            settings=cat.sidecars.settings,
            progress=ProgressBar(not args.quiet),
            embeddings=not args.no_embeddings,
        )
    finally:
        cat.close()
    if args.json:
        print(json.dumps(res.as_dict(), indent=2))
    else:
        print(f"{res.folder}: {res.summary()} in {res.seconds:.1f} s")
        for path, reason in res.errors:
            print(f"  skipped {path}: {reason}", file=sys.stderr)
        for w in res.warnings:
            print(f"  warning: {w}", file=sys.stderr)
    return EXIT_INTERRUPTED if res.cancelled else EXIT_OK


FLAGS = {"pick": 1, "reject": -1, "none": 0}
SCORE_FIELDS = ("rank", "path", "rating", "flag", "generic", "personal", "capture_time")


def cmd_score(args) -> int:
    cat = open_catalog_for(args)
    try:
        if args.rescore:
            from piaa_desktop.core.scoring import score_library

            score_library(cat)
        flag = {"picks": 1, "rejects": -1}.get(args.only) if args.only else None
        ids = cat.query_ids(sort=args.sort, min_rating=args.min_stars, flag=flag)
        if args.limit:
            ids = ids[: args.limit]
        generic = cat.scores("generic")
        personal = cat.scores("personal")
        photos = {p.id: p for p in cat.photos(ids)}
        rows = []
        for rank, pid in enumerate(ids, 1):
            p = photos[pid]
            rows.append(
                {
                    "rank": rank,
                    "path": p.path,
                    "rating": p.rating,
                    "flag": {1: "pick", -1: "reject"}.get(p.flag, ""),
                    "generic": None if pid not in generic else round(generic[pid], 3),
                    "personal": None if pid not in personal else round(personal[pid], 3),
                    "capture_time": p.capture_time or "",
                }
            )
    finally:
        cat.close()
    out = sys.stdout
    if args.format == "json":
        json.dump(rows, out, indent=2)
        out.write("\n")
    elif args.format == "csv":
        w = csv.DictWriter(out, fieldnames=SCORE_FIELDS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if v is None else v for k, v in r.items()})
    else:
        if not rows:
            print("No photos in the catalog. Add some with: piaa scan FOLDER", file=sys.stderr)
            return EXIT_OK
        print(f"{'#':>5}  {'stars':5}  {'flag':6}  {'generic':>7}  {'personal':>8}  path")
        for r in rows:
            g = "" if r["generic"] is None else f"{r['generic']:.2f}"
            s = "" if r["personal"] is None else f"{r['personal']:.2f}"
            stars = "*" * r["rating"]
            print(f"{r['rank']:>5}  {stars:5}  {r['flag']:6}  {g:>7}  {s:>8}  {r['path']}")
    return EXIT_OK


def cmd_rate(args) -> int:
    cat = open_catalog_for(args)
    try:
        targets = [_find_photo(cat, p) for p in args.paths]
        ids = [p.id for p in targets]
        cat.set_rating(ids, args.stars)
        if args.flag:
            cat.set_flag(ids, FLAGS[args.flag])
        _report_sidecar_errors(cat)
    finally:
        cat.close()
    for p in targets:
        print(f"{p.path}: {args.stars} star{'s' if args.stars != 1 else ''}")
    return EXIT_OK


def cmd_flag(args) -> int:
    cat = open_catalog_for(args)
    try:
        targets = [_find_photo(cat, p) for p in args.paths]
        before = {p.id: p.flag for p in targets}
        cat.set_flag([p.id for p in targets], FLAGS[args.flag])
        _report_sidecar_errors(cat)
    finally:
        cat.close()
    words = {1: "picked", -1: "rejected", 0: "unflagged"}
    new = FLAGS[args.flag]
    for p in targets:
        was = before[p.id]
        print(f"{p.path}: {words[new]}" + (" (already)" if was == new else f" (was {words[was]})" if was else ""))
    return EXIT_OK


def cmd_errors(args) -> int:
    cat = open_catalog_for(args)
    try:
        errs = cat.import_errors()
    finally:
        cat.close()
    if args.json:
        print(json.dumps([{"path": p, "reason": r} for p, r in errs], indent=2))
    else:
        for p, r in errs:
            print(f"{p}: {r}")
        if not errs:  # silence read as "did it run?"; stdout stays empty for scripts
            print("no skipped files: every photo found by the scans was imported", file=sys.stderr)
    return EXIT_OK


def cmd_models(args) -> int:
    from piaa_desktop.core.models import ModelError, ModelStatus, verify_models

    try:
        statuses = verify_models()
    except ModelError as exc:  # the manifest itself is unreadable
        statuses = [ModelStatus("manifest", "manifest.json", False, str(exc))]
    bad = [s for s in statuses if not s.ok]
    if args.json:
        print(json.dumps([s.__dict__ for s in statuses], indent=2))
    else:
        for s in statuses:
            print(f"{'ok     ' if s.ok else 'PROBLEM'} {s.name}: {s.file} {s.problem}")
    return EXIT_FAIL if bad else EXIT_OK


def cmd_bench_import(args) -> int:
    from piaa_desktop.lab.benchmarks import import_benchmark

    res = import_benchmark(args.folder, limit=args.limit, progress=ProgressBar(not args.json))
    print(json.dumps(res, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in res.items()))
    return EXIT_OK


# ---------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="piaa", description="PIAA Desktop: headless photo library jobs.")
    ap.add_argument("--version", action="version", version=f"piaa {__version__}")
    ap.add_argument("--data-dir", metavar="DIR", help="keep the catalog, caches and models under DIR (a sandbox)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("scan", help="import or rescan a folder of photos")
    p.add_argument("folder")
    p.add_argument("--no-embeddings", action="store_true", help="skip embeddings and scores (faster first pass)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("score", help="list photos with their scores, sorted")
    from piaa_desktop.core.library import SORTS

    p.add_argument("--sort", choices=sorted(SORTS), default="personal")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--min-stars", type=int, default=0, choices=range(0, 6))
    p.add_argument("--only", choices=("picks", "rejects"))
    p.add_argument("--rescore", action="store_true", help="recompute generic scores first")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("rate", help="set the star rating (0-5) of photos")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("stars", type=int, choices=range(0, 6), metavar="N")
    p.add_argument("--flag", choices=("pick", "reject", "none"))
    p.set_defaults(func=cmd_rate)

    p = sub.add_parser("flag", help="pick, reject or unflag photos")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("flag", choices=("pick", "reject", "none"))
    p.set_defaults(func=cmd_flag)

    p = sub.add_parser("errors", help="list files the import skipped, with the reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_errors)

    p = sub.add_parser("models", help="check the shipped models against their manifest")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    bench = sub.add_parser("bench", help="benchmarks (JSON on stdout with --json)")
    bsub = bench.add_subparsers(dest="bench_command", metavar="BENCH")
    bsub.required = True
    p = bsub.add_parser("import", help="photos per second for scan + thumbnails + embeddings")
    p.add_argument("folder")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_import)

    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError as exc:
            if exc.name == name:
                continue  # that feature is not installed in this build
            raise
        if hasattr(mod, "register"):
            mod.register(sub)
        if hasattr(mod, "register_bench"):
            mod.register_bench(bsub)
    return ap


def _environment_error(args, exc: BaseException) -> str:
    from piaa_desktop.core.catalog import CatalogError
    from piaa_desktop.core.fsutil import disk_full_message, is_disk_full
    from piaa_desktop.core.paths import app_paths

    if isinstance(exc, CatalogError):
        return str(exc)
    try:
        data_dir = app_paths(getattr(args, "data_dir", None)).data_dir
    except Exception:  # noqa: BLE001
        data_dir = None
    if is_disk_full(exc, data_dir):
        return disk_full_message(data_dir or ".")
    if "readonly database" in str(exc) or getattr(exc, "errno", None) == errno.EROFS:
        return (f"the data folder {data_dir} is read-only: the catalog can be read but not changed (make it "
                "writable, or choose another with --data-dir)")
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        return f"{exc.strerror or exc}{where}"
    return f"the catalog cannot be used: {exc}"


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "json"):
        args.json = False
    from piaa_desktop.core.catalog import CatalogError

    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"piaa: error: {exc}", file=sys.stderr)
        return exc.code
    except (OSError, sqlite3.Error, CatalogError) as exc:
        # a full disk, a damaged or unwritable catalog: one clear line, never a traceback
        print(f"piaa: error: {_environment_error(args, exc)}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("piaa: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
