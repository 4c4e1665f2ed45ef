"""``piaa faces PHOTO...``: faces, eyes open/closed and face sharpness (see core.faces).

Works on any photo, in the catalog or not. ``piaa faces --library`` runs the faces pass over the catalog
(only photos not yet analysed with the current models) and stores the results for the app.
"""
from __future__ import annotations

import json
import os
import sys

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "faces",
        help="find faces, closed eyes and soft faces in photos",
        description=(
            "Find the faces in each PHOTO (files or folders; they need not be in the catalog) and say for each "
            "face whether the eyes are open or closed (blink score 0-1) and how sharp it is (0-1). "
            "With --library, analyse the catalog's photos instead and store the results for the app."
        ),
    )
    p.add_argument("photos", nargs="*", metavar="PHOTO", help="photo files or folders")
    p.add_argument("--library", action="store_true", help="run the faces pass over the catalog's photos")
    p.add_argument("--json", action="store_true", help="print JSON only on stdout")
    p.set_defaults(func=cmd_faces)


def _expand(items: list[str]) -> list[str]:
    from piaa_desktop.core.imageio import is_candidate

    out: list[str] = []
    for item in items:
        if os.path.isdir(item):
            for root, dirs, files in os.walk(item):
                dirs.sort()
                out += [os.path.join(root, f) for f in sorted(files) if is_candidate(f)]
        else:
            out.append(item)
    return out


def cmd_faces(args) -> int:
    from piaa_desktop.cli.main import CliError, ProgressBar, open_catalog_for
    from piaa_desktop.core import faces as F
    from piaa_desktop.core.jobs import Cancelled, CancelToken

    if not args.photos and not args.library:
        raise CliError("name at least one PHOTO, or use --library", EXIT_USAGE)
    try:
        analyzer = F.get_analyzer()
    except F.FacesUnavailable as exc:
        raise CliError(str(exc)) from exc
    bar = ProgressBar(enabled=True)
    cancel = CancelToken()
    if args.library:
        cat = open_catalog_for(args)
        try:
            n = F.analyze_catalog(cat, analyzer=analyzer, progress=bar, cancel=cancel)
            counts = cat.face_counts(analyzer.signature)
        except Cancelled:
            raise KeyboardInterrupt from None
        finally:
            cat.close()
        summary = {
            "analysed": n,
            "photos": len(counts),
            "with_faces": sum(1 for c in counts.values() if c[0] > 0),
            "closed_eyes": sum(1 for c in counts.values() if c[1] > 0),
            "soft_faces": sum(1 for c in counts.values() if c[2] > 0),
            "model": analyzer.signature,
        }
        if args.json:
            print(json.dumps(summary))
        else:
            print(
                f"faces: {n} photos analysed now; of {summary['photos']}: {summary['with_faces']} with faces, "
                f"{summary['closed_eyes']} with closed eyes, {summary['soft_faces']} with a soft face"
            )
        if not args.photos:
            return EXIT_OK

    paths = _expand(args.photos)
    missing = [p for p in paths if not os.path.exists(p)]
    results = F.analyze_paths(paths, analyzer=analyzer, progress=bar if len(paths) > 1 else None, cancel=cancel)
    code = EXIT_OK
    if any(r.error for r in results):
        code = EXIT_NOT_FOUND if missing else EXIT_FAIL
    if args.json:
        print(json.dumps({"photos": [r.to_json() for r in results]}))
    else:
        for r in results:
            if r.error:
                print(f"{r.path}: {r.error}")
                continue
            if not r.faces:
                print(f"{r.path}: no faces")
                continue
            parts = []
            for f in r.faces:
                x, y, w, h = f.box
                soft = "soft" if f.soft else "sharp"
                parts.append(f"{w}x{h} at {x},{y}: eyes {f.eyes} (blink {f.blink:.2f}), {soft} ({f.sharpness:.2f})")
            print(f"{r.path}: {len(r.faces)} face{'s' if len(r.faces) != 1 else ''}: " + "; ".join(parts))
    for r in results:
        if r.error:
            print(f"piaa: {r.path}: {r.error}", file=sys.stderr)
    return code
