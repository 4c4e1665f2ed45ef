"""The library search language (parsed here; the SQL it becomes lives in the catalog).

A query is a list of terms, all of which must match (AND). Each term is ``field:value`` or bare text;
a leading ``-`` negates it; values with spaces are quoted (``kw:"New York"``)::

    kw:Paris rating:>=4 -flag:reject date:2024-05..2024-06 camera:x100 score:3.5..5 sunset

Fields (aliases in brackets):

* ``kw`` [keyword, tag]: a keyword anywhere in the hierarchy: ``kw:France`` finds photos tagged
  ``Places|France|Paris``; ``kw:"Places|France"`` a sub-path; ``*`` is a wildcard (``kw:Fra*``).
* ``name`` [file]: part of the file name.
* ``date`` [taken]: ``2024``, ``2024-05``, ``2024-05-17``, a range ``2024-05..2024-06-15`` (both ends
  included), or ``>=2024-05`` / ``<2023``; ``after:`` and ``before:`` are shorthands (inclusive).
* ``camera`` [cam], ``lens``: part of the camera / lens model.
* ``rating`` [stars]: ``4``, ``>=3``, ``<2``, ``2..4``.
* ``flag`` [is]: ``pick``, ``reject``, ``none``.
* ``score``: the personal score (generic where there is none yet), 1-5: ``>=3.5``, ``3..4``;
  ``generic:`` the generic score only.
* ``label`` [color]: a colour label (``red``...), or ``none``.
* ``folder``: part of the folder path.
* ``collection``: photos of a plain collection, by name.

Bare text matches the file name, a keyword or the camera. Parsing never raises for a half-typed query
(an unbalanced quote is read as if closed); an unknown field or a bad value raises :class:`SearchError`
with a message for the user.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import date
from typing import Optional, Union

FIELD_ALIASES = {
    "kw": "keyword", "keyword": "keyword", "keywords": "keyword", "tag": "keyword", "tags": "keyword",
    "name": "name", "file": "name", "filename": "name",
    "date": "date", "taken": "date", "after": "after", "since": "after", "before": "before", "until": "before",
    "camera": "camera", "cam": "camera", "lens": "lens",
    "rating": "rating", "stars": "rating", "star": "rating",
    "flag": "flag", "is": "flag",
    "score": "score", "personal": "score", "generic": "generic",
    "label": "label", "color": "label", "colour": "label",
    "folder": "folder", "dir": "folder",
    "collection": "collection",
}
FIELDS = ("keyword", "name", "date", "camera", "lens", "rating", "flag", "score", "generic", "label", "folder",
          "collection")
FLAG_WORDS = {"pick": 1, "picks": 1, "picked": 1, "reject": -1, "rejects": -1, "rejected": -1,
              "none": 0, "unflagged": 0, "no": 0}

Bound = tuple[str, Union[int, float, str]]  # (">=", 3) ...


class SearchError(ValueError):
    """A query the user must fix (unknown field, bad number or date); the message says what is wrong."""


@dataclass(frozen=True)
class Term:
    """One condition. ``field`` is canonical (see :data:`FIELDS`) or ``"text"`` for bare words.

    ``value`` is the text for text fields, an int for ``flag``, and for ``rating``/``score``/
    ``generic``/``date`` a tuple of bounds such as ``((">=", 3), ("<=", 5))``.
    """

    field: str
    value: object
    negate: bool = False


@dataclass
class Query:
    text: str = ""
    terms: list[Term] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def describe(self) -> str:
        """A short human description, e.g. ``keyword "Paris", rating >= 4``."""
        parts = []
        for t in self.terms:
            if t.field == "flag":
                v = {1: "picks", -1: "rejects", 0: "unflagged"}[t.value]
            elif isinstance(t.value, tuple):
                v = " and ".join(f"{op} {b}" for op, b in t.value)
            else:
                v = f'"{t.value}"'
            parts.append(("not " if t.negate else "") + (f"{t.field} {v}" if t.field != "text" else v))
        return ", ".join(parts)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:  # an unbalanced quote while typing: close it
        try:
            return shlex.split(text + '"', posix=True)
        except ValueError:
            return shlex.split(text + "'", posix=True)


_CMP = re.compile(r"^(>=|<=|>|<|=)?\s*(.+)$")


def _number_bounds(raw: str, kind: type, fname: str) -> tuple[Bound, ...]:
    def num(s: str):
        try:
            return kind(s.strip())
        except ValueError:
            raise SearchError(f"{fname}: {s!r} is not a number") from None

    raw = raw.strip()
    if ".." in raw:
        lo, hi = raw.split("..", 1)
        out = []
        if lo.strip():
            out.append((">=", num(lo)))
        if hi.strip():
            out.append(("<=", num(hi)))
        if not out:
            raise SearchError(f"{fname}: empty range")
        return tuple(out)
    m = _CMP.match(raw)
    if not m:
        raise SearchError(f"{fname}: nothing to compare")
    op, v = m.group(1) or "=", num(m.group(2))
    return ((op, v),)


_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")


def _date_span(s: str, fname: str) -> tuple[str, str]:
    """``2024-05`` -> ("2024-05-01", "2024-06-01"): the first day and the day after the last."""
    m = _DATE.match(s.strip())
    if not m:
        raise SearchError(f"{fname}: {s!r} is not a date (write 2024, 2024-05 or 2024-05-17)")
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if mo is None:
            start, end = date(y, 1, 1), date(y + 1, 1, 1)
        elif d is None:
            start = date(y, int(mo), 1)
            end = date(y + (int(mo) == 12), int(mo) % 12 + 1, 1)
        else:
            start = date(y, int(mo), int(d))
            end = date.fromordinal(start.toordinal() + 1)
    except ValueError as exc:
        raise SearchError(f"{fname}: {s!r}: {exc}") from None
    return start.isoformat(), end.isoformat()


def _date_bounds(raw: str, fname: str) -> tuple[Bound, ...]:
    """Bounds on the ISO capture time ("2024-05-17T10:00:00"), compared as text."""
    raw = raw.strip()
    if fname == "after":
        raw = ">=" + raw
    elif fname == "before":
        raw = "<=" + raw
    if ".." in raw:
        lo, hi = raw.split("..", 1)
        out = []
        if lo.strip():
            out.append((">=", _date_span(lo, fname)[0]))
        if hi.strip():
            out.append(("<", _date_span(hi, fname)[1]))
        if not out:
            raise SearchError(f"{fname}: empty range")
        return tuple(out)
    m = _CMP.match(raw)
    if not m:
        raise SearchError(f"{fname}: no date")
    op = m.group(1) or "="
    start, end = _date_span(m.group(2), fname)
    return {
        "=": ((">=", start), ("<", end)),
        ">=": ((">=", start),),
        ">": ((">=", end),),
        "<": (("<", start),),
        "<=": (("<", end),),
    }[op]


def parse(text: str) -> Query:
    """Parse a search query (see the module docstring)."""
    terms: list[Term] = []
    for tok in _split(text or ""):
        negate = False
        if tok.startswith("-") and len(tok) > 1:
            negate, tok = True, tok[1:]
        fname, sep, value = tok.partition(":")
        if not sep or not fname or "|" in fname or " " in fname:
            terms.append(Term("text", tok, negate))
            continue
        canon = FIELD_ALIASES.get(fname.lower())
        if canon is None:
            raise SearchError(f"unknown search field {fname!r}; use one of: {', '.join(FIELDS)}")
        if not value.strip():
            continue  # "kw:" while typing
        if canon in ("keyword", "name", "camera", "lens", "folder", "collection"):
            terms.append(Term(canon, value.strip(), negate))
        elif canon == "rating":
            b = _number_bounds(value, int, fname)
            for _op, v in b:
                if not 0 <= v <= 5:
                    raise SearchError("rating: stars are 0 to 5")
            terms.append(Term("rating", b, negate))
        elif canon in ("score", "generic"):
            terms.append(Term(canon, _number_bounds(value, float, fname), negate))
        elif canon in ("date", "after", "before"):
            terms.append(Term("date", _date_bounds(value, canon), negate))
        elif canon == "flag":
            v = FLAG_WORDS.get(value.strip().lower())
            if v is None:
                raise SearchError(f"{fname}: use pick, reject or none")
            terms.append(Term("flag", v, negate))
        elif canon == "label":
            terms.append(Term("label", value.strip().lower(), negate))
    return Query(text or "", terms)


def keyword_like(value: str) -> str:
    """The LIKE pattern matching ``value`` as whole component(s) of ``"|" || path || "|"``.

    ``*`` in the value is a wildcard within a component; ``%`` and ``_`` are matched literally.
    """
    v = value.strip().strip("|")
    v = v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    v = "|".join(part.strip() for part in v.split("|"))
    v = v.replace("*", "%")
    return f"%|{v}|%"


def like_contains(value: str) -> str:
    """A LIKE pattern for "contains ``value``" with ``%``/``_`` literal and ``*`` a wildcard."""
    v = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return f"%{v}%"


# ------------------------------------------------------------------------------------- keywords
def normalize_keyword(path: str) -> Optional[str]:
    """A keyword path with trimmed components: ``" Places | France|Paris "`` -> ``"Places|France|Paris"``.

    Only ``|`` separates levels (Lightroom's ``lr:hierarchicalSubject``); empty components are dropped.
    None if nothing is left.
    """
    if path is None:
        return None
    parts = [p.strip() for p in str(path).replace("\n", " ").replace("\r", " ").split("|")]
    parts = [p for p in parts if p]
    return "|".join(parts) if parts else None


def keyword_leaf(path: str) -> str:
    return path.rsplit("|", 1)[-1]
