"""``piaa develop``: set, copy or reset the develop settings of photos headless (non-destructive).

    piaa --data-dir D develop PHOTO... [--set NAME=VALUE ...] [--reset] [--copy-from PHOTO [--copy-groups G]] [--json]

Every registered parameter can be set, geometry included (``core.develop.REGISTRY``): e.g.
``--set angle=2.5 --set crop_left=0.1 --set crop_right=0.9 --set rotate=1 --set flip=1``.

Order of operations per photo: start from its current settings (nothing with ``--reset``), paste the
other photo's with ``--copy-from`` (its tone and colour, as the app's Copy/Paste settings: each photo keeps
its own crop unless ``--copy-groups tone,colour,crop`` says so), then apply every ``--set``. Without any option the current settings are
printed. The result is stored as the user's own edit (what *Learn my retouching style* learns from),
in one undoable catalog change.
"""
from __future__ import annotations

import json
import math


def _cli():
    from piaa_desktop.cli import main as m

    return m


def parse_assignments(items) -> dict[str, float]:
    """``["exposure=0.5", "contrast=-10"]`` -> ``{"exposure": 0.5, "contrast": -10.0}``; CliError (usage) if bad."""
    from piaa_desktop.core import develop

    m = _cli()
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise m.CliError(f"--set expects NAME=VALUE, got {item!r}", m.EXIT_USAGE)
        p = develop.REGISTRY_BY_NAME.get(name)
        if p is None:
            raise m.CliError(
                f"unknown develop setting {name!r}; known: {', '.join(q.name for q in develop.REGISTRY)}", m.EXIT_USAGE
            )
        try:
            v = float(value)
        except ValueError:
            raise m.CliError(f"--set {name}: {value!r} is not a number", m.EXIT_USAGE) from None
        if not math.isfinite(v) or v < p.min or v > p.max:
            raise m.CliError(f"--set {name}: {value} is outside {p.min:g} .. {p.max:g}", m.EXIT_USAGE)
        out[name] = v
    return out


def parse_groups(text) -> tuple[str, ...]:
    """``"tone,crop"`` -> the groups of ``core.develop.COPY_GROUPS`` (by key or by word: crop = geometry);
    None: the default (tone and colour). CliError (usage) for an unknown group."""
    from piaa_desktop.core import develop

    m = _cli()
    if not text:
        return develop.DEFAULT_COPY_GROUPS
    by_name = {**{k: k for k in develop.COPY_GROUPS}, **{w: k for k, w in develop.COPY_GROUPS.items()}}
    out = []
    for item in str(text).split(","):
        g = by_name.get(item.strip().lower())
        if g is None:
            known = ", ".join(develop.COPY_GROUPS.values())
            raise m.CliError(f"--copy-groups: unknown group {item.strip()!r}; known: {known}", m.EXIT_USAGE)
        if g not in out:
            out.append(g)
    return tuple(out)


def cmd_develop(args) -> int:
    from piaa_desktop.core import develop
    from piaa_desktop.core.catalog import Change

    m = _cli()
    updates = parse_assignments(args.set)
    cat = m.open_catalog_for(args)
    try:
        photos = [m._find_photo(cat, p) for p in args.photos]
        source = None
        if args.copy_from:
            src = m._find_photo(cat, args.copy_from)
            try:
                source = develop.copy_params(cat.get_edit(src.id), parse_groups(args.copy_groups))
            except ValueError as exc:
                raise m.CliError(f"--copy-from {args.copy_from}: {exc}", m.EXIT_FAIL) from None
        elif args.copy_groups:
            raise m.CliError("--copy-groups goes with --copy-from PHOTO", m.EXIT_USAGE)
        writing = bool(updates or args.reset or args.copy_from)
        after: dict[int, dict | None] = {}
        for ph in photos:
            if args.reset:
                base: dict = {}
            else:
                base = dict(cat.get_edit(ph.id) or {})
            if source is not None:
                base = develop.paste_params(base, source) or {}
            base.update(updates)
            params = develop.normalize_params(base)
            after[ph.id] = None if develop.is_identity(params) else params
        if writing:
            cat.apply_change(Change("edit", "params", list(after), after=after))
        rows = [{"path": ph.path, "params": develop.normalize_params(cat.get_edit(ph.id))} for ph in photos]
    finally:
        cat.close()
    if args.json:
        print(json.dumps({"photos": rows}, sort_keys=True))
    else:
        for r in rows:
            changed = develop.changed_params(r["params"])
            print(f"{r['path']}: " + (", ".join(f"{k} {v:+g}" for k, v in changed.items()) or "as shot"))
    return m.EXIT_OK


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "develop",
        help="set, copy or reset develop settings of photos (your own edits: the enhancer learns from them)",
    )
    p.add_argument("photos", nargs="+", metavar="PHOTO")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="a develop setting, e.g. exposure=0.5 (repeatable)")
    p.add_argument("--reset", action="store_true", help="start from the unedited photo")
    p.add_argument("--copy-from", metavar="PHOTO",
                   help="paste this photo's tone and colour settings (each photo keeps its own crop, as in the app)")
    p.add_argument("--copy-groups", metavar="GROUPS",
                   help="what --copy-from copies, comma-separated: tone, colour, crop (default: tone,colour)")
    p.add_argument("--json", action="store_true", help='print {"photos": [{"path", "params"}]}')
    p.set_defaults(func=cmd_develop)
