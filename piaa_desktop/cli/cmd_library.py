"""Library organisation commands: ``piaa keyword``, ``piaa search``, ``piaa collection``.

    piaa keyword add "Places|France|Paris" a.jpg b.jpg    # hierarchical keywords, written to XMP
    piaa keyword remove Places a.jpg                      # removes Places and what is below it
    piaa keyword list [a.jpg] [--json]                    # all keywords with counts, or a photo's
    piaa search 'kw:Paris rating:>=4 -flag:reject' [--sort name] [--json]
    piaa collection create Best [--query 'rating:5']      # plain, or smart (a saved search)
    piaa collection add Best a.jpg | remove | delete | list | show Best
    piaa trash rejects [--folder DIR] --yes               # rejected photos + sidecars to the system trash
    piaa trash list | restore PATH... | restore --all     # what this app trashed; put it back
"""
from __future__ import annotations

import json
import os
import sys

from piaa_desktop.cli.common import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    _report_sidecar_errors,
    open_catalog_for,
)
from piaa_desktop.cli.main import _find_photo


def cmd_keyword(args) -> int:
    cat = open_catalog_for(args)
    try:
        if args.action == "list":
            if args.photo:
                photo = _find_photo(cat, args.photo)
                kws = cat.photo_keywords(photo.id)
                print(json.dumps(kws) if args.json else "\n".join(kws))
            else:
                counts = cat.keyword_counts()
                if args.json:
                    print(json.dumps(counts, indent=2))
                else:
                    for k, n in counts.items():
                        print(f"{k}\t{n}")
            return EXIT_OK
        if not args.paths:
            raise CliError("name the photos to change", EXIT_USAGE)
        ids = [_find_photo(cat, p).id for p in args.paths]
        if args.action == "add":
            change = cat.add_keywords(ids, [args.keyword])
        elif args.action == "remove":
            change = cat.remove_keywords(ids, [args.keyword])
        else:  # set
            change = cat.set_keywords(ids, [k for k in args.keyword.split(",") if k.strip()])
        _report_sidecar_errors(cat)
        n = sum(1 for i in change.photo_ids if change.before.get(i) != change.after.get(i))
        print(f"{args.action} {args.keyword!r}: {n} photo{'s' if n != 1 else ''} changed", file=sys.stderr)
    finally:
        cat.close()
    return EXIT_OK


def cmd_search(args) -> int:
    from piaa_desktop.core.search import SearchError, parse

    try:
        query = parse(args.query)
    except SearchError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    cat = open_catalog_for(args)
    try:
        found = set(cat.search_ids(query))
        ids = [i for i in cat.query_ids(sort=args.sort) if i in found]
        if args.limit:
            ids = ids[: args.limit]
        photos = {p.id: p for p in cat.photos(ids)} if ids else {}
        kws = cat.keywords_of(ids) if ids else {}
        rows = [
            {"id": i, "path": photos[i].path, "rating": photos[i].rating, "flag": photos[i].flag,
             "capture_time": photos[i].capture_time, "camera": photos[i].camera, "keywords": kws.get(i, [])}
            for i in ids
        ]
    finally:
        cat.close()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(r["path"])
        print(f"{len(rows)} photo{'s' if len(rows) != 1 else ''} match {query.describe() or 'everything'}",
              file=sys.stderr)
    return EXIT_OK


def _collection(cat, name: str) -> dict:
    c = cat.collection_by_name(name)
    if c is None:
        raise CliError(f"no collection named {name!r} ('piaa collection list' shows them)", EXIT_NOT_FOUND)
    return c


def cmd_collection(args) -> int:
    cat = open_catalog_for(args)
    try:
        if args.action == "list":
            cols = cat.collections()
            if args.json:
                print(json.dumps(cols, indent=2))
            else:
                for c in cols:
                    kind = f"smart: {c['query']}" if c["query"] is not None else "plain"
                    print(f"{c['name']}\t{c['count']}\t{kind}")
        elif args.action == "create":
            try:
                cat.create_collection(args.name, args.query)
            except ValueError as exc:
                raise CliError(str(exc), EXIT_USAGE) from exc
        elif args.action == "delete":
            cat.delete_collection(_collection(cat, args.name)["id"])
        elif args.action == "show":
            ids = cat.collection_ids(_collection(cat, args.name)["id"])
            photos = cat.photos(ids) if ids else []
            if args.json:
                print(json.dumps([{"id": p.id, "path": p.path} for p in photos], indent=2))
            else:
                for p in photos:
                    print(p.path)
        else:
            c = _collection(cat, args.name)
            ids = [_find_photo(cat, p).id for p in args.paths]
            try:
                if args.action == "add":
                    cat.add_to_collection(c["id"], ids)
                else:
                    cat.remove_from_collection(c["id"], ids)
            except ValueError as exc:
                raise CliError(str(exc), EXIT_USAGE) from exc
    finally:
        cat.close()
    return EXIT_OK


def cmd_trash(args) -> int:
    from piaa_desktop.core import trash

    cat = open_catalog_for(args)
    try:
        if args.action == "list":
            rows = cat.trashed()
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                for r in rows:
                    print(r["path"])
            return EXIT_OK
        if args.action == "restore":
            if args.all:
                ids = [r["id"] for r in cat.trashed()]
            else:
                by_path = {r["path"]: r["id"] for r in cat.trashed()}
                from pathlib import Path

                ids = []
                for p in args.paths:
                    pid = by_path.get(str(Path(p).resolve()))
                    if pid is None:
                        raise CliError(f"not trashed by PIAA Desktop: {p} ('piaa trash list')", EXIT_NOT_FOUND)
                    ids.append(pid)
            if not ids:
                raise CliError("name photos to restore, or --all", EXIT_USAGE)
            res, _change = trash.restore(cat, ids)
            for path, reason in res.failed:
                print(f"piaa: {path}: {reason}", file=sys.stderr)
            print(f"{len(res.restored)} photo{'s' if len(res.restored) != 1 else ''} restored", file=sys.stderr)
            return EXIT_OK if not res.failed else 1
        # rejects
        ids = cat.query_ids(sort="name", flag=-1)
        if args.folder:
            inside = set(cat.photo_ids_under(args.folder))
            ids = [i for i in ids if i in inside]
        plan = trash.plan(cat, ids)
        what = (f"{plan['photos']} rejected photo{'s' if plan['photos'] != 1 else ''}"
                f" and {plan['sidecars']} sidecar{'s' if plan['sidecars'] != 1 else ''}"
                f" ({plan['bytes'] / 1e6:.1f} MB)")
        if not plan["photos"]:
            print("no rejected photos to move", file=sys.stderr)
            return EXIT_OK
        if not args.yes:
            for p in plan["paths"]:
                print(p)
            print(f"would move {what} to the system trash; run again with --yes to do it", file=sys.stderr)
            return 1
        res, _change = trash.move_to_trash(cat, plan["ids"])
        for path, reason in res.failed:
            print(f"piaa: {path} not moved: {reason}", file=sys.stderr)
        if args.json:
            print(json.dumps({"trashed": len(res.trashed), "sidecars": res.sidecars, "files": res.files,
                              "failed": [{"path": p, "reason": r} for p, r in res.failed]}, indent=2))
        else:
            print(res.summary() + " ('piaa trash restore --all' brings them back)", file=sys.stderr)
        return EXIT_OK if not res.failed else 1
    finally:
        cat.close()


def register(sub) -> None:
    from piaa_desktop.core.library import SORTS

    p = sub.add_parser("keyword", help="add, remove or list hierarchical keywords (written to XMP sidecars)")
    ksub = p.add_subparsers(dest="action", metavar="ACTION")
    ksub.required = True
    for action, text in (("add", "add a keyword to photos"), ("remove", "remove a keyword (and those below it)"),
                         ("set", "replace the keywords of photos (comma-separated)")):
        q = ksub.add_parser(action, help=text)
        q.add_argument("keyword", help='a keyword; levels separated by "|", e.g. "Places|France|Paris"')
        q.add_argument("paths", nargs="+", metavar="PATH")
        q.set_defaults(func=cmd_keyword, json=False)
    q = ksub.add_parser("list", help="every keyword with its number of photos, or one photo's keywords")
    q.add_argument("photo", nargs="?", metavar="PATH", default=None)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_keyword)

    p = sub.add_parser("search", help="find photos: kw:, name:, date:, camera:, rating:, flag:, score:, label:")
    p.add_argument("query", help="e.g. 'kw:Paris rating:>=4 -flag:reject date:2024'")
    p.add_argument("--sort", choices=sorted(SORTS), default="capture_time")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("collection", help="plain collections and smart collections (saved searches)")
    csub = p.add_subparsers(dest="action", metavar="ACTION")
    csub.required = True
    q = csub.add_parser("list", help="collections with their number of photos")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_collection)
    q = csub.add_parser("create", help="a plain collection, or a smart one with --query")
    q.add_argument("name")
    q.add_argument("--query", default=None, help="a search that defines a smart collection")
    q.set_defaults(func=cmd_collection)
    for action in ("delete", "show"):
        q = csub.add_parser(action, help=f"{action} a collection")
        q.add_argument("name")
        q.add_argument("--json", action="store_true")
        q.set_defaults(func=cmd_collection)
    for action in ("add", "remove"):
        q = csub.add_parser(action, help=f"{action} photos to/from a plain collection")
        q.add_argument("name")
        q.add_argument("paths", nargs="+", metavar="PATH")
        q.set_defaults(func=cmd_collection)

    p = sub.add_parser("trash", help="move rejected photos (and sidecars) to the system trash; list; restore")
    tsub = p.add_subparsers(dest="action", metavar="ACTION")
    tsub.required = True
    q = tsub.add_parser("rejects", help="rejected photos to the system trash (asks for --yes)")
    q.add_argument("--folder", default=None, help="only rejects inside this folder")
    q.add_argument("--yes", action="store_true", help="really move them (without it: list what would move)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_trash)
    q = tsub.add_parser("list", help="photos this app moved to the trash")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_trash)
    q = tsub.add_parser("restore", help="put trashed photos back where they were")
    q.add_argument("paths", nargs="*", metavar="PATH")
    q.add_argument("--all", action="store_true")
    q.set_defaults(func=cmd_trash)
