"""Loaders for personal aesthetic rating data sets: one table of (user, image, score) rows.

Supported formats (``fmt``; ``auto`` looks at the header):

* ``flickr-aes``: FLICKR-AES per-worker labels, CSV header ``worker,imagePair,score`` (the published
  file has spaces after the commas; they are stripped). Scores 1-5.
* ``aadb``: AADB. Either the per-rater CSV ``ImageFile,AnnotatorID,score`` (header names matched
  case-insensitively; ``image``/``annotator``/``rater``/``worker`` accepted), or the mean-score lists
  ``imgList*Regression_score.txt`` (lines ``image.jpg 0.6``; one pseudo-user ``aadb-mean``). Scores 0-1
  (auto-detected; mapped to 1-5).
* ``para``: PARA annotation CSV with ``userId``, ``imageName`` (optionally ``sessionId``, giving
  ``sessionId/imageName``) and ``aestheticScore``. Scores 1-5.
* ``generic``: CSV ``user,image,score`` (any numeric scale; mapped to 1-5 from its min and max).

Bad rows (missing fields, scores that are not numbers) are counted and skipped, never fatal; a file
with no usable row raises :class:`RatingsError` with the reason.
"""
from __future__ import annotations

import csv
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


class RatingsError(ValueError):
    """A ratings file that cannot be read."""


@dataclass
class Rating:
    user: str
    image: str
    score: float


@dataclass
class RatingTable:
    rows: list[Rating]
    fmt: str
    scale: tuple[float, float]  # the native score range
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def users(self) -> list[str]:
        return sorted({r.user for r in self.rows})

    def by_user(self, stars: bool = True) -> dict[str, dict[str, float]]:
        """user -> {image: score}; repeated (user, image) rows are averaged. ``stars`` maps to 1-5."""
        acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for r in self.rows:
            acc[r.user][r.image].append(self.to_stars(r.score) if stars else r.score)
        return {u: {i: sum(v) / len(v) for i, v in d.items()} for u, d in acc.items()}

    def to_stars(self, score: float) -> float:
        lo, hi = self.scale
        if hi <= lo:
            return 3.0
        return 1.0 + 4.0 * (score - lo) / (hi - lo)


def _num(s) -> Optional[float]:
    try:
        v = float(str(s).strip())
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            rows = [r for r in csv.reader(fh, dialect) if any(c.strip() for c in r)]
    except UnicodeDecodeError as exc:
        raise RatingsError(f"{path} is not a text CSV file: {exc}") from exc
    except OSError as exc:
        raise RatingsError(f"cannot read {path}: {exc}") from exc
    if not rows:
        raise RatingsError(f"{path} is empty")
    return [h.strip() for h in rows[0]], [[c.strip() for c in r] for r in rows[1:]]


def _col(header: list[str], *names: str) -> Optional[int]:
    low = [h.lower().replace(" ", "").replace("_", "") for h in header]
    for n in names:
        n = n.lower().replace("_", "")
        if n in low:
            return low.index(n)
    return None


def _table(rows: list[tuple[str, str, Optional[float]]], fmt: str, path: Path, scale=None) -> RatingTable:
    good = [Rating(u, i, s) for u, i, s in rows if u and i and s is not None]
    skipped = len(rows) - len(good)
    if not good:
        raise RatingsError(f"{path}: no usable (user, image, score) rows ({skipped} bad rows)")
    if scale is None:
        lo, hi = min(r.score for r in good), max(r.score for r in good)
        if fmt == "aadb" and hi <= 1.0:
            lo, hi = 0.0, 1.0
        scale = (lo, hi)
    t = RatingTable(good, fmt, scale, skipped)
    if skipped:
        t.notes.append(f"{skipped} rows without a user, an image or a numeric score were skipped")
    return t


def load_flickr_aes(path: os.PathLike | str) -> RatingTable:
    path = Path(path)
    header, body = _read_csv(path)
    iw, ii, isc = _col(header, "worker"), _col(header, "imagePair", "image"), _col(header, "score")
    if None in (iw, ii, isc):
        raise RatingsError(f"{path}: FLICKR-AES needs columns worker,imagePair,score (found {header})")
    rows = [(r[iw], r[ii], _num(r[isc])) if len(r) > max(iw, ii, isc) else ("", "", None) for r in body]
    return _table(rows, "flickr-aes", path, (1.0, 5.0))


def load_aadb(path: os.PathLike | str) -> RatingTable:
    path = Path(path)
    if path.suffix.lower() == ".txt":
        rows = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise RatingsError(f"cannot read {path}: {exc}") from exc
        for line in lines:
            parts = line.split()
            if not parts:
                continue
            rows.append(("aadb-mean", parts[0], _num(parts[1]) if len(parts) > 1 else None))
        return _table(rows, "aadb", path)
    header, body = _read_csv(path)
    ii = _col(header, "ImageFile", "image", "imageName", "img")
    iw = _col(header, "AnnotatorID", "annotator", "rater", "worker", "user")
    isc = _col(header, "score", "rating", "aesthetic", "Score")
    if None in (ii, iw, isc):
        raise RatingsError(f"{path}: AADB per-rater CSV needs image, annotator and score columns (found {header})")
    rows = [(r[iw], r[ii], _num(r[isc])) if len(r) > max(iw, ii, isc) else ("", "", None) for r in body]
    return _table(rows, "aadb", path)


def load_para(path: os.PathLike | str) -> RatingTable:
    path = Path(path)
    header, body = _read_csv(path)
    iu, ii, isc = _col(header, "userId", "user"), _col(header, "imageName", "image"), _col(header, "aestheticScore")
    iss = _col(header, "sessionId")
    if None in (iu, ii, isc):
        raise RatingsError(f"{path}: PARA needs columns userId, imageName, aestheticScore (found {header})")
    rows = []
    for r in body:
        if len(r) <= max(iu, ii, isc):
            rows.append(("", "", None))
            continue
        img = f"{r[iss]}/{r[ii]}" if iss is not None and len(r) > iss and r[iss] else r[ii]
        rows.append((r[iu], img, _num(r[isc])))
    return _table(rows, "para", path, (1.0, 5.0))


def load_generic(path: os.PathLike | str) -> RatingTable:
    path = Path(path)
    header, body = _read_csv(path)
    iu, ii, isc = _col(header, "user"), _col(header, "image"), _col(header, "score")
    if None in (iu, ii, isc):
        raise RatingsError(f"{path}: expected a header user,image,score (found {header})")
    rows = [(r[iu], r[ii], _num(r[isc])) if len(r) > max(iu, ii, isc) else ("", "", None) for r in body]
    return _table(rows, "generic", path)


LOADERS = {"flickr-aes": load_flickr_aes, "aadb": load_aadb, "para": load_para, "generic": load_generic}


def detect_format(path: os.PathLike | str) -> str:
    path = Path(path)
    if path.suffix.lower() == ".txt":
        return "aadb"
    header, _ = _read_csv(path)
    if _col(header, "worker") is not None and _col(header, "imagePair") is not None:
        return "flickr-aes"
    if _col(header, "aestheticScore") is not None and _col(header, "userId") is not None:
        return "para"
    if _col(header, "AnnotatorID", "annotator") is not None:
        return "aadb"
    return "generic"


def load_ratings(path: os.PathLike | str, fmt: str = "auto") -> RatingTable:
    """Load a ratings file in one of the supported formats (``auto`` detects it from the header)."""
    if not Path(path).is_file():
        raise RatingsError(f"ratings file not found: {path}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in LOADERS:
        raise RatingsError(f"unknown ratings format {fmt!r}; choose auto, {', '.join(LOADERS)}")
    return LOADERS[fmt](path)
