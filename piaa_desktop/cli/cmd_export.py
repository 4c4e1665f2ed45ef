"""``piaa export DEST``: export picks / the best photos to a folder (see core.export)."""
from __future__ import annotations

import json
import sys

from piaa_desktop.cli.common import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, open_catalog_for
from piaa_desktop.core.export import DEFAULT_TEMPLATE, TEMPLATE_FIELDS


def _positive_int(s: str) -> int:
    import argparse

    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return v


def _percent(s: str) -> float:
    import argparse

    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not 0 < v <= 100:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 100")
    return v


def register(subparsers) -> None:
    fields = ", ".join("{" + k + "}" for k in TEMPLATE_FIELDS)
    p = subparsers.add_parser(
        "export",
        help="export picks or the best photos to a folder",
        description=(
            "Export photos to DEST, best first (personal score, generic when there is no personal model). "
            "Choose what with --picks, --min-stars, --top, --top-percent (they combine) or --all. "
            "Existing files are never overwritten; a CSV and a JSON report are written to DEST."
        ),
    )
    p.add_argument("dest", metavar="DEST", help="folder to export to (created if needed)")
    p.add_argument("--picks", action="store_true", help="only picked photos")
    p.add_argument("--min-stars", type=int, choices=range(0, 6), default=0, metavar="K", help="at least K stars")
    p.add_argument("--top", type=_positive_int, metavar="N", help="the N best photos")
    p.add_argument("--top-percent", type=_percent, metavar="P", help="the best P percent")
    p.add_argument("--all", action="store_true", help="every photo that is not rejected")
    p.add_argument("--include-rejected", action="store_true", help="do not leave rejected photos out")
    p.add_argument("--edits", action="store_true", help="apply each photo's edits (rendered at full resolution)")
    p.add_argument("--long-edge", type=_positive_int, metavar="PX", help="resize so the long edge is at most PX")
    p.add_argument("--quality", type=int, default=92, choices=range(1, 101), metavar="Q", help="JPEG quality 1-100")
    p.add_argument("--template", default=DEFAULT_TEMPLATE, metavar="T",
                   help=f"file name template (default {DEFAULT_TEMPLATE!r}; fields: {fields})")
    p.add_argument("--embed-xmp", action="store_true", help="write rating and labels into exported JPEGs' XMP")
    p.add_argument("--no-report", action="store_true", help="do not write the CSV/JSON report")
    p.add_argument("--dry-run", action="store_true", help="list what would be exported, write nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from piaa_desktop.core.export import (
        ExportCancelled,
        ExportError,
        ExportOptions,
        export_photos,
        select_for_export,
    )
    from piaa_desktop.core.jobs import CancelToken

    opts = ExportOptions(
        picks=args.picks,
        min_stars=args.min_stars,
        top_n=args.top,
        top_percent=args.top_percent,
        include_rejected=args.include_rejected,
        edits=args.edits,
        long_edge=args.long_edge,
        quality=args.quality,
        template=args.template,
        embed_xmp=args.embed_xmp,
        write_report=not args.no_report,
    )
    if not opts.has_selection and not args.all:
        print("piaa: error: choose what to export: --picks, --min-stars K, --top N, --top-percent P or --all",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        opts.validate()
    except ValueError as exc:
        print(f"piaa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    cat = open_catalog_for(args)  # as every command: CliError on a bad catalog, sidecar hook installed
    quiet = getattr(args, "quiet", False) or args.json
    token = CancelToken()

    def progress(done: int, total: int, message: str = "") -> None:
        if not quiet and total:
            print(f"\r{message} [{done}/{total}]", end="" if done < total else "\n", file=sys.stderr, flush=True)

    try:
        ids = select_for_export(cat, opts)
        if args.dry_run:
            rows = [{"rank": k, "photo_id": pid, "path": cat.photo(pid).path} for k, pid in enumerate(ids, 1)]
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                for r in rows:
                    print(f"{r['rank']:>5}  {r['path']}")
            return EXIT_OK
        if not ids:
            print("piaa: nothing to export (no photo matches)", file=sys.stderr)
            return EXIT_OK
        try:
            rep = export_photos(cat, ids, args.dest, opts, progress=progress, cancel=token)
        except KeyboardInterrupt:
            token.cancel()
            print("piaa: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except ExportCancelled as exc:
            rep = exc.report
        except ExportError as exc:
            print(f"piaa: error: {exc}", file=sys.stderr)
            if exc.report is not None and args.json:
                print(json.dumps(exc.report.summary(), indent=2))
            return EXIT_FAIL
    finally:
        cat.close()
    if args.json:
        print(json.dumps(rep.summary(), indent=2))
    else:
        print(f"exported {rep.exported} of {len(rep.rows)} photos to {rep.dest} in {rep.seconds:.1f} s"
              + (f" ({rep.failed} failed, {rep.skipped} skipped)" if rep.failed or rep.skipped else ""))
        for r in rep.rows:
            if r.status in ("failed", "skipped"):
                print(f"  {r.status} {r.source}: {r.error}", file=sys.stderr)
        if rep.csv_path:
            print(f"report: {rep.csv_path}")
    if rep.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_FAIL if rep.failed else EXIT_OK
