"""``piaa export DEST``: export picks / the best photos to a folder (see core.export)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

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
            "Existing files are never overwritten: a photo whose identical file is already in DEST is skipped "
            "(reported as already there); a different file with the same name makes the new one name-1, name-2... "
            "A CSV and a JSON report are written to DEST."
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
    p.add_argument("--quality", type=int, default=None, choices=range(1, 101), metavar="Q",
                   help="JPEG quality 1-100 (default 92)")
    p.add_argument("--format", choices=("original", "jpeg", "png", "tiff16"), default=None,
                   help="original (default: copy when nothing changes, else JPEG), jpeg, png (8-bit), tiff16 (16-bit TIFF)")
    p.add_argument("--color-space", choices=("original", "srgb", "display-p3", "adobe-rgb"), default=None,
                   help="convert to sRGB, Display P3 or Adobe RGB (ICC profile embedded); default: as the original")
    p.add_argument("--sharpen", choices=("none", "screen", "print"), default=None, help="output sharpening")
    p.add_argument("--preset", metavar="NAME", default=None,
                   help="start from an export preset (built-in or saved); options given here override it")
    p.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    p.add_argument("--save-preset", metavar="NAME", default=None, help="save these output options as a preset")
    p.add_argument("--folder", metavar="DIR", default=None, help="choose only among photos inside DIR (sub-folders too)")
    p.add_argument("--search", metavar="QUERY", default=None, help="choose only among photos matching a search")
    p.add_argument("--collection", metavar="NAME", default=None, help="choose only among a collection's photos")
    p.add_argument("--template", default=None, metavar="T",
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
        apply_preset,
        describe_selection,
        export_photos,
        preset_of,
        presets,
        select_for_export,
    )
    from piaa_desktop.core.jobs import CancelToken
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.settings import load_settings

    paths = app_paths(args.data_dir)
    settings = load_settings(paths.ensure())
    user_presets = settings.get("export_presets") or {}
    all_presets = presets(user_presets)
    if args.list_presets:
        if args.json:
            print(json.dumps(all_presets, indent=2))
        else:
            for name, p in all_presets.items():
                print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in p.items()))
        return EXIT_OK
    opts = ExportOptions(
        picks=args.picks,
        min_stars=args.min_stars,
        top_n=args.top,
        top_percent=args.top_percent,
        include_rejected=args.include_rejected,
        edits=args.edits,
        long_edge=args.long_edge,
        embed_xmp=args.embed_xmp,
        write_report=not args.no_report,
    )
    try:
        if args.preset:
            if args.preset not in all_presets:
                print(f"piaa: error: no preset named {args.preset!r} (piaa export --list-presets DEST)", file=sys.stderr)
                return EXIT_USAGE
            opts = apply_preset(opts, all_presets[args.preset])
            if args.edits:
                opts.edits = True
            if args.long_edge:
                opts.long_edge = args.long_edge
        for name, value in (("quality", args.quality), ("format", args.format), ("sharpening", args.sharpen),
                            ("template", args.template)):
            if value is not None:
                setattr(opts, name, value)
        if args.color_space is not None:
            opts.color_space = None if args.color_space == "original" else args.color_space
        opts.validate()
    except ValueError as exc:
        print(f"piaa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.save_preset:
        user_presets = dict(user_presets)
        user_presets[args.save_preset] = preset_of(opts)
        settings.set("export_presets", user_presets)
        settings.save()
    if not opts.has_selection and not args.all:
        print("piaa: error: choose what to export: --picks, --min-stars K, --top N, --top-percent P or --all",
              file=sys.stderr)
        return EXIT_USAGE
    cat = open_catalog_for(args)  # as every command: CliError on a bad catalog, sidecar hook installed
    quiet = getattr(args, "quiet", False) or args.json
    token = CancelToken()

    def progress(done: int, total: int, message: str = "") -> None:
        if not quiet and total:
            print(f"\r{message} [{done}/{total}]", end="" if done < total else "\n", file=sys.stderr, flush=True)

    try:
        within, scope = None, []
        if args.folder:
            within = set(cat.photo_ids_under(args.folder))
            scope.append(f'folder "{args.folder}"')
        if args.search:
            from piaa_desktop.core.search import SearchError

            try:
                found = set(cat.search_ids(args.search))
            except SearchError as exc:
                print(f"piaa: error: {exc}", file=sys.stderr)
                return EXIT_USAGE
            within = found if within is None else within & found
            scope.append(f"search {args.search}")
        if args.collection:
            c = cat.collection_by_name(args.collection)
            if c is None:
                print(f"piaa: error: no collection named {args.collection!r}", file=sys.stderr)
                return 3
            members = set(cat.collection_ids(c["id"]))
            within = members if within is None else within & members
            scope.append(f'collection "{c["name"]}"')
        opts.scope = ", ".join(scope)
        ids = select_for_export(cat, opts, within=within)
        from piaa_desktop.core.personal.operations import active_model

        selection = describe_selection(opts, opts.scope, personal_model=active_model(cat)[0] is not None)
        if not quiet:
            print(f"exporting {selection}: {len(ids)} photo{'s' if len(ids) != 1 else ''}", file=sys.stderr)
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
        print(json.dumps({**rep.summary(), "selection": selection}, indent=2))
    else:
        print(f"{rep.describe()} in {rep.seconds:.1f} s")
        for r in rep.rows:
            if r.status in ("failed", "skipped"):
                print(f"  {r.status} {r.source}: {r.error}", file=sys.stderr)
            elif r.renamed_from:
                print(f"  renamed {r.renamed_from} -> {Path(r.dest).name}: a different file already had that name",
                      file=sys.stderr)
        if rep.csv_path:
            print(f"report: {rep.csv_path}")
    if rep.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_FAIL if rep.failed else EXIT_OK
