"""The SQLite catalog: folders, photos, ratings, flags, preferences, edits, embeddings and scores.

* WAL journal, ``synchronous=NORMAL``, foreign keys on; every public mutation is one transaction, so
  a crash (even SIGKILL) loses at most the change in flight.
* ``PRAGMA user_version`` holds the schema version. Opening an older catalog first copies it to
  ``backups/`` (SQLite online backup API), then runs the migrations in one transaction.
* Mutations return a :class:`Change` that says what changed and how to undo it (Anki style); the
  :class:`UndoStack` replays them backwards.
* The catalog never touches the original image files.

A :class:`Catalog` object is bound to one thread's connection. Worker threads open their own with
:meth:`Catalog.open` on the same path (WAL lets readers and one writer work concurrently).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

import numpy as np

SCHEMA_VERSION = 6

# Named photo attributes measured from pixels (see core.signals). Also the interpretable inputs of the
# aesthetic heads and the taste dimensions of the simulated raters.
SIGNAL_COLUMNS = (
    "sharpness",
    "noise",
    "clip_low",
    "clip_high",
    "brightness",
    "contrast",
    "colorfulness",
    "saturation",
    "warmth",
    "subject_offset",
)

EXIF_COLUMNS = (
    "capture_time",
    "camera",
    "lens",
    "iso",
    "shutter",
    "aperture",
    "focal_length",
    "orientation",
)

_SCHEMA_V1 = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    path TEXT UNIQUE NOT NULL,
    added_at REAL NOT NULL,
    last_scan REAL
);
CREATE TABLE IF NOT EXISTS photos (
    id INTEGER PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path TEXT UNIQUE NOT NULL,
    content_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    width INTEGER,
    height INTEGER,
    format TEXT,
    capture_time TEXT,
    camera TEXT,
    lens TEXT,
    iso INTEGER,
    shutter REAL,
    aperture REAL,
    focal_length REAL,
    orientation INTEGER,
    missing INTEGER NOT NULL DEFAULT 0,
    rating INTEGER NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
    flag INTEGER NOT NULL DEFAULT 0 CHECK (flag IN (-1, 0, 1)),
    color_label TEXT,
    added_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS photos_hash ON photos(content_hash);
CREATE INDEX IF NOT EXISTS photos_folder ON photos(folder_id);
CREATE INDEX IF NOT EXISTS photos_capture ON photos(capture_time);
CREATE TABLE IF NOT EXISTS import_errors (
    path TEXT PRIMARY KEY,
    folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS signals (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    {", ".join(c + " REAL" for c in SIGNAL_COLUMNS)}
);
CREATE TABLE IF NOT EXISTS embeddings (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    score REAL NOT NULL,
    distribution TEXT,
    model_version TEXT,
    PRIMARY KEY (photo_id, kind)
);
CREATE INDEX IF NOT EXISTS scores_kind ON scores(kind, score);
CREATE TABLE IF NOT EXISTS preferences (
    id INTEGER PRIMARY KEY,
    winner_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    loser_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    source TEXT NOT NULL DEFAULT 'compare',
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS edits (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'user',
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS edit_history (
    id INTEGER PRIMARY KEY,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    params TEXT,
    source TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS personal_models (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    path TEXT,
    blob BLOB,
    metrics TEXT,
    n_ratings INTEGER,
    n_preferences INTEGER,
    active INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    args TEXT,
    started_at REAL NOT NULL,
    finished_at REAL,
    detail TEXT
);
"""

# Version 3: hierarchical keywords ("Places|France|Paris", one row per full path, matched without case),
# plain and smart collections (a smart one stores a search query), and rejects moved to the system trash
# (``trashed_at``/``trash_path``: the record stays, marked missing, until restored or forgotten).
_SCHEMA_V3 = """
CREATE TABLE IF NOT EXISTS keywords (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE COLLATE NOCASE
);
CREATE TABLE IF NOT EXISTS photo_keywords (
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    keyword_id INTEGER NOT NULL REFERENCES keywords(id) ON DELETE CASCADE,
    PRIMARY KEY (photo_id, keyword_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS photo_keywords_kw ON photo_keywords(keyword_id);
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    query TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS collection_photos (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    added_at REAL NOT NULL,
    PRIMARY KEY (collection_id, photo_id)
) WITHOUT ROWID;
ALTER TABLE photos ADD COLUMN trashed_at REAL;
ALTER TABLE photos ADD COLUMN trash_path TEXT;
"""

# Migrations from version N to N+1. Add ``MIGRATIONS[7] = "ALTER TABLE ..."`` when the schema grows.
MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1}

# v2: faces and eyes per photo (core/faces.py), one row per photo and face-model signature: the faces as
# JSON plus the counts the grid filters on.
MIGRATIONS[2] = """
CREATE TABLE IF NOT EXISTS faces (
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    faces TEXT NOT NULL,
    n_faces INTEGER NOT NULL,
    closed_eyes INTEGER NOT NULL,
    soft_faces INTEGER NOT NULL,
    PRIMARY KEY (photo_id, model)
);
"""
MIGRATIONS[3] = _SCHEMA_V3
# v4: sidecars still to write (core/sync.py's background writer). A row is put in the same transaction as
# the rating/flag/label/keyword/crop change it stands for and deleted once the sidecar is written, so a
# killed process loses no sidecar: the next start writes what is left. ``what``: bits 1 rating/flag/label,
# 2 keywords (``keywords_added``/``keywords_removed``: JSON lists, the change since the sidecar was last
# written), 4 crop/straighten/turn. ``seq`` grows with every mark: a row is cleared only if not marked again
# while its sidecar was being written.
MIGRATIONS[4] = """
CREATE TABLE IF NOT EXISTS sidecar_pending (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    what INTEGER NOT NULL,
    keywords_added TEXT,
    keywords_removed TEXT,
    seq INTEGER NOT NULL,
    marked_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sidecar_pending_seq ON sidecar_pending(seq);
"""
# v5: the generic aesthetic model's per-photo output (the MLP column of core.personal.heads), computed
# once when a photo is embedded and kept under the signature of the model that computed it (prior
# weights + backbone key), so re-scoring a library is a personal-head pass only. One row per photo: a new
# prior's values replace the old ones; writing a photo's embedding deletes its row (set_embeddings).
MIGRATIONS[5] = """
CREATE TABLE IF NOT EXISTS taste_columns (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    value REAL NOT NULL
);
"""
# v6: re-scoring 100,000 photos in well under a second (core.personal.operations.library_features).
# * ``taste_features``: each photo's whole feature row of the personal heads (phi: the generic column, the
#   whitened PCA of the embedding, the standardised pixel signals; float32 blob), kept under the signature of
#   the feature transform + backbone key that computed it. One row per photo: a new signature's rows replace
#   the old ones; a new embedding (set_embeddings) or new signals (set_signals) of a photo delete its row.
# * ``embeddings_model``: which photos have an embedding of a backbone, without reading the vectors;
#   ``photos_missing`` / ``photos_rated``: the (few) photos marked missing / rated, without reading every
#   photo row.
# * ``personal_scores``: the personal score, one row per photo, rewritten whole by each re-score (truncate +
#   insert in id order: one b-tree, no score index to maintain; ``scores`` keeps the other kinds). The
#   distribution is 5 float32 (a blob); rows moved from ``scores`` keep their JSON text (both are read).
MIGRATIONS[6] = """
CREATE TABLE IF NOT EXISTS taste_features (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    phi BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_model ON embeddings(model);
CREATE INDEX IF NOT EXISTS photos_missing ON photos(id) WHERE missing=1;
CREATE INDEX IF NOT EXISTS photos_rated ON photos(id, rating, missing) WHERE rating>0;
CREATE TABLE IF NOT EXISTS personal_scores (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    score REAL NOT NULL,
    distribution BLOB,
    model_version TEXT
);
INSERT OR REPLACE INTO personal_scores(photo_id, score, distribution, model_version)
    SELECT photo_id, score, distribution, model_version FROM scores WHERE kind='personal' ORDER BY photo_id;
DELETE FROM scores WHERE kind='personal';
"""


class CatalogError(RuntimeError):
    """A catalog that cannot be opened or used (newer schema, corrupt file, locked)."""


class DiskFullError(CatalogError):
    """The disk holding the catalog is full: nothing was written (the last change was rolled back)."""


def _disk_full(exc: BaseException, path: Path) -> Optional[DiskFullError]:
    from piaa_desktop.core.fsutil import disk_full_message, is_disk_full

    if is_disk_full(exc, path.parent):
        return DiskFullError(disk_full_message(path.parent, "the catalog could not be written; nothing was lost"))
    return None


@dataclass
class Photo:
    id: int
    path: str
    folder_id: int
    content_hash: str
    size: int
    mtime: float
    width: Optional[int]
    height: Optional[int]
    format: Optional[str]
    capture_time: Optional[str]
    camera: Optional[str]
    lens: Optional[str]
    iso: Optional[int]
    shutter: Optional[float]
    aperture: Optional[float]
    focal_length: Optional[float]
    orientation: Optional[int]
    missing: int
    rating: int
    flag: int
    color_label: Optional[str]

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


_PHOTO_FIELDS = [f for f in Photo.__dataclass_fields__]


# the culling fields: one value per photo, set for many photos at once (a rating, a flag, a colour label); their
# sidecars, bulk writes, packed undo records and the grid's record updates all treat them alike
CULLING_FIELDS = ("rating", "flag", "color_label")


@dataclass
class Change:
    """What one mutation changed: enough to refresh views and to undo it.

    ``before``/``after`` map photo id to the old/new value of ``field``.
    """

    kind: str
    field: str
    photo_ids: list[int]
    before: dict[int, Any] = field(default_factory=dict)
    after: dict[int, Any] = field(default_factory=dict)
    # the photos whose sidecar it marked (core.sync, inside its transaction): the writer gets them after the commit
    sidecar_ids: Optional[list] = field(default=None, repr=False, compare=False)
    # the window's records dict its new values were already written into (a big change, on the worker that wrote
    # it: core.library.set_field); the grid then only repaints. Not copied by inverse().
    records_set: Optional[dict] = field(default=None, repr=False, compare=False)

    def inverse(self) -> "Change":
        return Change(self.kind, self.field, list(self.photo_ids), dict(self.after), dict(self.before))

    @property
    def empty(self) -> bool:
        return all(self.before.get(i) == self.after.get(i) for i in self.photo_ids)


def _refuse_empty_file(path: Path, backup_dir: Optional[os.PathLike | str]) -> None:
    """A catalog file of 0 bytes (no write-ahead log holding its content) is not silently replaced by a
    new, empty catalog: that would hide the loss of every rating and edit."""
    try:
        if path.stat().st_size != 0:
            return
    except OSError:
        return  # no file yet: a new catalog
    wal = Path(str(path) + "-wal")
    try:
        if wal.stat().st_size > 0:
            return  # a new catalog whose content is still in its WAL
    except OSError:
        pass
    backups = Path(backup_dir) if backup_dir else path.parent / "backups"
    raise CatalogError(
        f"the catalog {path} is empty (0 bytes): it was truncated or damaged. Restore the newest copy from "
        f"{backups} (rename it to {path.name}), or delete the empty file to start a new, empty catalog."
    )


def _open_read_only(path: Path, exc: BaseException) -> tuple[Optional[sqlite3.Connection], int]:
    """A read-only connection when the catalog's folder cannot be written (a read-only disk or data dir):
    reading commands (score, errors, export) still work; writes fail with a clear error."""
    if not path.is_file() or os.access(path.parent, os.W_OK):
        return None, 0
    from urllib.parse import quote

    uri = "file:" + quote(str(path.resolve()))
    for query in ("?mode=ro", "?immutable=1"):  # immutable: no -shm can be made beside a WAL catalog
        try:
            conn = sqlite3.connect(uri + query, uri=True, timeout=30.0, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn, version
        except sqlite3.Error:
            continue
    return None, 0


def _suppress_sqlite():
    import contextlib

    return contextlib.suppress(sqlite3.Error)


class _WriteGate:
    """First come, first served among this process's connections to one catalog file: a write transaction
    waits here for its turn instead of in SQLite's busy handler, whose growing sleeps (up to 100 ms each) let a
    background job's back-to-back transactions keep the GUI thread's one-row rating waiting for half a second.
    Re-entrant for the thread that holds it. Other processes (the CLI beside the app) still meet SQLite's lock
    and its busy timeout."""

    _gates: dict[str, "_WriteGate"] = {}
    _gates_lock = threading.Lock()

    def __init__(self) -> None:
        self._cv = threading.Condition(threading.Lock())
        self._next = 0  # the next ticket to hand out
        self._serving = 0  # the ticket whose turn it is
        self._owner: Optional[int] = None
        self._depth = 0

    @classmethod
    def of(cls, path: os.PathLike | str) -> "_WriteGate":
        key = os.path.realpath(str(path))
        with cls._gates_lock:
            gate = cls._gates.get(key)
            if gate is None:
                gate = cls._gates[key] = cls()
            return gate

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._cv:
            if self._owner == me:
                self._depth += 1
                return
            ticket = self._next
            self._next += 1
            while self._serving != ticket:
                self._cv.wait()
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._cv:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._serving += 1
                self._cv.notify_all()

    def waiting(self) -> bool:
        """Whether a transaction has taken a ticket and waits for its turn (tests watch it)."""
        with self._cv:
            return self._next > self._serving + (1 if self._owner is not None else 0)


class Catalog:
    """One connection to the catalog database. Use from one thread; open another for workers."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._gate = _WriteGate.of(path)
        self.on_change: list = []  # callables receiving a Change after each committed mutation
        # callables ``(tx, change)`` run inside the transaction of a rating/flag/label, keyword or edit
        # change, before its commit (core.sync marks the sidecars to write in the same transaction)
        self.in_transaction: list = []

    # ------------------------------------------------------------------ opening and schema
    @classmethod
    def open(cls, path: os.PathLike | str, backup_dir: Optional[os.PathLike | str] = None) -> "Catalog":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _refuse_empty_file(path, backup_dir)
        try:
            conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            conn, version = _open_read_only(path, exc)
            if conn is None:
                raise (_disk_full(exc, path) or CatalogError(f"cannot open catalog {path}: {exc}")) from exc
        if version > SCHEMA_VERSION:
            conn.close()
            raise CatalogError(
                f"catalog {path} has schema version {version}, newer than this PIAA Desktop ({SCHEMA_VERSION}); "
                "update the application"
            )
        cat = cls(conn, path)
        if version < SCHEMA_VERSION:
            try:
                if version > 0:
                    cat.backup(Path(backup_dir) if backup_dir else path.parent / "backups", reason=f"v{version}")
                cat._migrate(version)
            except (sqlite3.Error, OSError) as exc:
                full = _disk_full(exc, path)
                if full is None:
                    raise
                conn.close()
                raise full from exc
        return cat

    def _migrate(self, from_version: int) -> None:
        with self.transaction() as c:
            for v in range(from_version + 1, SCHEMA_VERSION + 1):
                c.executescript_in_tx(MIGRATIONS[v])
                c.conn.execute(f"PRAGMA user_version={v}")

    def backup(self, backup_dir: os.PathLike | str, reason: str = "manual") -> Path:
        """Copy the catalog to ``backup_dir`` with SQLite's online backup (consistent even in WAL)."""
        backup_dir = Path(backup_dir)
        backup_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        dest = backup_dir / f"catalog-{stamp}-{reason}.sqlite3"
        n = 1
        while dest.exists():
            dest = backup_dir / f"catalog-{stamp}-{reason}-{n}.sqlite3"
            n += 1
        target = sqlite3.connect(str(dest))
        try:
            self.conn.backup(target)
        finally:
            target.close()
        return dest

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]

    def rebuild_indexes(self) -> bool:
        """Rebuild the indexes from the tables; True if the catalog passes ``integrity_check`` after.

        ``REINDEX`` mends an index that disagrees with its table. An index whose pages are themselves
        broken cannot be dropped normally (SQLite must read them to free them): its schema entry is
        removed, ``VACUUM`` rewrites the file from the tables alone (the broken pages are left behind)
        and the index is created again. A damaged table cannot be mended this way.
        """
        conn = self.conn
        try:
            conn.execute("REINDEX")
            if self.integrity_check() == "ok":
                return True
        except sqlite3.Error:
            pass
        try:
            indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL").fetchall()
            if not indexes:
                return False
            version = conn.execute("PRAGMA schema_version").fetchone()[0]
            conn.execute("PRAGMA writable_schema=ON")
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("DELETE FROM sqlite_master WHERE type='index' AND name=?", [(n,) for n, _ in indexes])
                conn.execute(f"PRAGMA schema_version={int(version) + 1}")
                conn.execute("COMMIT")
            finally:
                conn.execute("PRAGMA writable_schema=OFF")
            conn.execute("VACUUM")
            for _, sql in indexes:
                conn.execute(sql)
            return self.integrity_check() == "ok"
        except sqlite3.Error:
            with _suppress_sqlite():
                conn.execute("ROLLBACK")
            return False

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            return
        write_clean_marker(self.path)

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions
    class _Tx:
        def __init__(self, conn: sqlite3.Connection):
            self.conn = conn

        def execute(self, sql: str, params: Sequence | dict = ()) -> sqlite3.Cursor:
            return self.conn.execute(sql, params)

        def executemany(self, sql: str, rows: Iterable) -> sqlite3.Cursor:
            return self.conn.executemany(sql, rows)

        def executescript_in_tx(self, script: str) -> None:
            for stmt in _split_sql(script):
                self.conn.execute(stmt)

    def transaction(self):
        cat = self

        class _Ctx:
            def __enter__(self_inner):
                cat._lock.acquire()
                cat._gate.acquire()
                try:
                    cat.conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    cat._gate.release()
                    cat._lock.release()
                    raise (_disk_full(exc, cat.path) or exc) from exc
                return Catalog._Tx(cat.conn)

            def __exit__(self_inner, exc_type, exc, tb):
                try:
                    if exc_type is None:
                        try:
                            cat.conn.execute("COMMIT")
                        except sqlite3.Error as err:
                            with _suppress_sqlite():
                                cat.conn.execute("ROLLBACK")
                            full = _disk_full(err, cat.path)
                            if full is not None:
                                raise full from err
                            raise
                    else:
                        with _suppress_sqlite():
                            cat.conn.execute("ROLLBACK")
                finally:
                    cat._gate.release()
                    cat._lock.release()
                # A full disk met inside the transaction is reported as such (the change was rolled back).
                if exc is not None and isinstance(exc, sqlite3.Error):
                    full = _disk_full(exc, cat.path)
                    if full is not None:
                        raise full from exc
                return False

        return _Ctx()

    def _in_transaction(self, tx, change: Change) -> None:
        for cb in list(self.in_transaction):
            cb(tx, change)

    def _emit(self, change: Change) -> Change:
        for cb in list(self.on_change):
            cb(change)
        return change

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: Optional[str] = None) -> Optional[str]:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as tx:
            tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ folders
    def add_folder(self, path: os.PathLike | str) -> int:
        p = str(Path(path).resolve())
        with self.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO folders(path, added_at) VALUES (?, ?)", (p, time.time()))
            return tx.execute("SELECT id FROM folders WHERE path=?", (p,)).fetchone()[0]

    def folders(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM folders ORDER BY path").fetchall()

    def photos_under(self, folder_id: int, root: os.PathLike | str) -> list[sqlite3.Row]:
        """Photos of folder ``folder_id`` or whose path lies below ``root``: an exact, case-sensitive
        prefix match done as a range of the binary-collated path (no LIKE: ``_`` and ``%`` are ordinary
        characters in folder names and ``Trip`` is not ``trip``)."""
        prefix = str(root).rstrip("/\\") + os.sep
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # every string that starts with prefix is < upper
        return self.conn.execute(
            "SELECT id, path, size, mtime, content_hash, missing FROM photos "
            "WHERE folder_id=? OR (path >= ? AND path < ?)",
            (folder_id, prefix, upper),
        ).fetchall()

    def missing_photos(self) -> list[sqlite3.Row]:
        """(id, content_hash, path, folder) of every photo marked missing, anywhere in the catalog."""
        return self.conn.execute(
            "SELECT p.id, p.content_hash, p.path, f.path AS folder FROM photos p "
            "JOIN folders f ON f.id = p.folder_id WHERE p.missing=1"
        ).fetchall()

    def remove_folder(self, folder_id: int) -> None:
        """Forget a folder and its photos (the files on disk are not touched)."""
        with self.transaction() as tx:
            tx.execute("DELETE FROM folders WHERE id=?", (folder_id,))

    # ------------------------------------------------------------------ photos
    def photo(self, photo_id: int) -> Optional[Photo]:
        row = self.conn.execute(
            f"SELECT {', '.join(_PHOTO_FIELDS)} FROM photos WHERE id=?", (photo_id,)
        ).fetchone()
        return Photo(**dict(row)) if row else None

    def photo_by_path(self, path: os.PathLike | str) -> Optional[Photo]:
        p = str(Path(path).resolve())
        row = self.conn.execute(f"SELECT {', '.join(_PHOTO_FIELDS)} FROM photos WHERE path=?", (p,)).fetchone()
        return Photo(**dict(row)) if row else None

    def photos(self, ids: Optional[Sequence[int]] = None, include_missing: bool = False) -> list[Photo]:
        sql = f"SELECT {', '.join(_PHOTO_FIELDS)} FROM photos"
        where, params = [], []
        if not include_missing:
            where.append("missing=0")
        if ids is not None:
            where.append(f"id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.conn.execute(sql + " ORDER BY id", params).fetchall()
        return [Photo(**dict(r)) for r in rows]

    def count_photos(self, include_missing: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM photos" + ("" if include_missing else " WHERE missing=0")
        return self.conn.execute(sql).fetchone()[0]

    def record_rows(self) -> list[tuple]:
        """Every present photo as ``(id, path, content_hash, folder_id, rating, flag, color_label, width,
        height, capture_time)``: the bulk read behind :func:`piaa_desktop.core.library.load_records`."""
        return self.conn.execute(
            "SELECT id, path, content_hash, folder_id, rating, flag, color_label, width, height, capture_time "
            "FROM photos WHERE missing=0"
        ).fetchall()

    def present_ids(self) -> list[int]:
        """Ids of the photos not marked missing, ascending."""
        return [r[0] for r in self.conn.execute("SELECT id FROM photos WHERE missing=0 ORDER BY id")]

    def query_ids(
        self,
        sort: str = "capture_time",
        folder_id: Optional[int] = None,
        min_rating: int = 0,
        flag: Optional[int] = None,
        include_rejected: bool = True,
        technical: Optional[str] = None,
    ) -> list[int]:
        """Photo ids of the library view, filtered and sorted: :func:`piaa_desktop.core.library.query_ids`
        (where the sort orders are defined) on this catalog."""
        from piaa_desktop.core.library import query_ids

        return query_ids(self, sort, folder_id, min_rating, flag, include_rejected, technical)

    # ------------------------------------------------------------------ culling mutations
    def _set_field(self, field_name: str, kind: str, photo_ids: Sequence[int], values: dict[int, Any]) -> Change:
        """One transaction, whatever the number of photos: the ids go to SQLite as one JSON array
        (``json_each``), the old values are read in one query and the new ones written by one UPDATE per
        distinct value (a rating of the whole library: one statement, not one per photo)."""
        ids = list(dict.fromkeys(map(int, photo_ids)))
        if not ids:
            return Change(kind, field_name, [])
        groups: Optional[dict] = {}
        try:
            distinct = set(map(values.__getitem__, ids))
            if len(distinct) == 1:  # one value for all (a rating of the selection): no loop in Python
                groups = {distinct.pop(): ids}
            else:
                for i in ids:
                    groups.setdefault(values[i], []).append(i)
        except TypeError:  # a value that cannot be grouped (unhashable): one statement per photo
            groups = None
        with self.transaction() as tx:
            ids_json = json.dumps(ids)  # (one group: the same ids, written with it)
            # the old values as two JSON arrays, not a row tuple per photo: a worker reading 100,000 of them
            # triggers no garbage collection (which would hold the interpreter lock from the GUI thread)
            got_ids, got_values = tx.execute(
                f"SELECT json_group_array(id), json_group_array({field_name}) FROM photos "
                "WHERE id IN (SELECT value FROM json_each(?))", (ids_json,)
            ).fetchone()
            before = dict(zip(json.loads(got_ids), json.loads(got_values)))
            if len(before) < len(ids):
                ids = [i for i in ids if i in before]
            now = time.time()
            if groups is None:
                tx.executemany(
                    f"UPDATE photos SET {field_name}=?, updated_at=? WHERE id=?", [(values[i], now, i) for i in ids]
                )
            else:
                for value, group in groups.items():
                    tx.execute(f"UPDATE photos SET {field_name}=?, updated_at=? WHERE id IN (SELECT value FROM json_each(?))",
                               (value, now, ids_json if len(groups) == 1 else json.dumps(group)))
            after = dict(zip(ids, [values[i] for i in ids])) if groups is None or len(groups) > 1 else dict.fromkeys(ids, next(iter(groups)))
            change = Change(kind, field_name, ids, before, after)
            self._in_transaction(tx, change)
        return self._emit(change)

    def announce(self, change: Change) -> Change:
        """Tell this catalog's listeners (``on_change``) about a change another connection of this process
        committed (a big rating written on a worker, :class:`Catalog.open` there): the window's records,
        the sidecar writer, as if this connection had made it."""
        return self._emit(change)

    def set_rating(self, photo_ids: Sequence[int], rating: int) -> Change:
        if not 0 <= int(rating) <= 5:
            raise ValueError("rating must be between 0 and 5")
        return self._set_field("rating", "rating", photo_ids, {int(i): int(rating) for i in photo_ids})

    def set_flag(self, photo_ids: Sequence[int], flag: int) -> Change:
        if int(flag) not in (-1, 0, 1):
            raise ValueError("flag must be -1 (reject), 0 (none) or 1 (pick)")
        return self._set_field("flag", "flag", photo_ids, {int(i): int(flag) for i in photo_ids})

    def set_color_label(self, photo_ids: Sequence[int], label: Optional[str]) -> Change:
        return self._set_field("color_label", "color_label", photo_ids, {int(i): label for i in photo_ids})

    def apply_change(self, change: Change) -> Change:
        """Write ``change.after`` (used by undo/redo with ``change.inverse()``)."""
        if change.field == "params":
            return self._apply_edit_change(change)
        if change.field == "keywords":
            return self._apply_keyword_change(change)
        return self._set_field(change.field, change.kind, change.photo_ids, change.after)

    def ratings(self) -> dict[int, int]:
        """Photo id -> stars for every rated (1-5) photo that is present."""
        cur = self.conn.cursor()
        cur.row_factory = None
        return dict(cur.execute("SELECT id, rating FROM photos WHERE rating>0 AND missing=0").fetchall())

    # ------------------------------------------------------------------ preferences
    def add_preference(self, winner_id: int, loser_id: int, source: str = "compare") -> int:
        if winner_id == loser_id:
            raise ValueError("a photo cannot be preferred to itself")
        with self.transaction() as tx:
            cur = tx.execute(
                "INSERT INTO preferences(winner_id, loser_id, source, created_at) VALUES (?,?,?,?)",
                (int(winner_id), int(loser_id), source, time.time()),
            )
            pid = cur.lastrowid
        self._emit(Change("preference", "preference", [winner_id, loser_id]))
        return pid

    def remove_preference(self, pref_id: int) -> None:
        with self.transaction() as tx:
            tx.execute("DELETE FROM preferences WHERE id=?", (pref_id,))

    # both photos present; as EXISTS by primary key: a JOIN made SQLite build bloom filters over every photo
    # row (59-89 ms for 100 answers at 100,000 photos, 0.2-0.3 ms this way; benchmarks/RESULTS.md, "Ranking")
    _PRESENT_PAIR = ("EXISTS (SELECT 1 FROM photos a WHERE a.id=pr.winner_id AND a.missing=0) AND "
                     "EXISTS (SELECT 1 FROM photos b WHERE b.id=pr.loser_id AND b.missing=0)")

    def preferences(self) -> list[tuple[int, int]]:
        """(winner, loser) of every answer whose two photos are present, in the order given."""
        rows = self.conn.execute(
            f"SELECT winner_id, loser_id FROM preferences pr WHERE {self._PRESENT_PAIR} ORDER BY pr.id")
        return [(r[0], r[1]) for r in rows]

    def preference_count(self) -> int:
        """How many :meth:`preferences` there are (one indexed count: the ranking view's counter)."""
        return int(self.conn.execute(f"SELECT COUNT(*) FROM preferences pr WHERE {self._PRESENT_PAIR}").fetchone()[0])

    # ------------------------------------------------------------------ edits
    def get_edit(self, photo_id: int) -> Optional[dict]:
        row = self.conn.execute("SELECT params FROM edits WHERE photo_id=?", (photo_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def edits(self, source: Optional[str] = None) -> dict[int, dict]:
        sql = "SELECT photo_id, params FROM edits"
        params: tuple = ()
        if source:
            sql += " WHERE source=?"
            params = (source,)
        return {r[0]: json.loads(r[1]) for r in self.conn.execute(sql, params)}

    def edit_sources(self) -> dict[int, str]:
        return {r[0]: r[1] for r in self.conn.execute("SELECT photo_id, source FROM edits")}

    def edit_history(self, photo_id: int, limit: int = 50) -> list[tuple[Optional[str], str, float]]:
        """The last ``limit`` develop settings of a photo, newest first: ``(params json, source, created_at)``."""
        return self.conn.execute(
            "SELECT params, source, created_at FROM edit_history WHERE photo_id=? ORDER BY id DESC LIMIT ?",
            (int(photo_id), int(limit)),
        ).fetchall()

    def set_edit(self, photo_ids: Sequence[int], params: Optional[dict], source: str = "user") -> Change:
        """Store (or with ``None`` clear) the develop parameters of photos; returns an undoable Change."""
        return self._apply_edit_change(
            Change("edit", "params", list(photo_ids), after={int(i): params for i in photo_ids}), source=source
        )

    def _apply_edit_change(self, change: Change, source: str = "user") -> Change:
        ids = list(dict.fromkeys(int(i) for i in change.photo_ids))
        now = time.time()
        with self.transaction() as tx:
            before = {}
            for i in ids:
                row = tx.execute("SELECT params FROM edits WHERE photo_id=?", (i,)).fetchone()
                before[i] = json.loads(row[0]) if row else None
            for i in ids:
                p = change.after.get(i)
                if p is None:
                    tx.execute("DELETE FROM edits WHERE photo_id=?", (i,))
                else:
                    tx.execute(
                        "INSERT OR REPLACE INTO edits(photo_id, params, source, updated_at) VALUES (?,?,?,?)",
                        (i, json.dumps(p, sort_keys=True), source, now),
                    )
                tx.execute(
                    "INSERT INTO edit_history(photo_id, params, source, created_at) VALUES (?,?,?,?)",
                    (i, None if p is None else json.dumps(p, sort_keys=True), source, now),
                )
            done = Change("edit", "params", ids, before, {i: change.after.get(i) for i in ids})
            self._in_transaction(tx, done)
        return self._emit(done)

    # ------------------------------------------------------------------ signals, embeddings, scores
    def set_signals(self, rows: Iterable[tuple[int, dict]]) -> None:
        cols = ", ".join(SIGNAL_COLUMNS)
        qs = ", ".join("?" * (len(SIGNAL_COLUMNS) + 1))
        data = [(pid, *[float(s.get(c, 0.0)) for c in SIGNAL_COLUMNS]) for pid, s in rows]
        with self.transaction() as tx:
            tx.executemany(f"INSERT OR REPLACE INTO signals(photo_id, {cols}) VALUES ({qs})", data)
            # the stored feature rows hold the standardised signals: stale now (recomputed when next needed)
            tx.executemany("DELETE FROM taste_features WHERE photo_id=?", [(d[0],) for d in data])

    def signals(self, ids: Optional[Sequence[int]] = None) -> dict[int, dict]:
        sql = f"SELECT photo_id, {', '.join(SIGNAL_COLUMNS)} FROM signals"
        params: Sequence = ()
        if ids is not None:
            sql += f" WHERE photo_id IN ({','.join('?' * len(ids))})"
            params = list(ids)
        return {r[0]: {c: r[i + 1] for i, c in enumerate(SIGNAL_COLUMNS)} for r in self.conn.execute(sql, params)}

    def signal_values(self, column: str, ids: Sequence[int]) -> np.ndarray:
        """One signal (a name of ``SIGNAL_COLUMNS``) of these photos as float64 in ``ids`` order, NaN where
        there is none (the stacks rank their members by sharpness at every refresh while collapsed)."""
        if column not in SIGNAL_COLUMNS:
            raise ValueError(f"unknown signal {column!r}")
        ids = [int(i) for i in ids]
        got: dict[int, Optional[float]] = {}
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            cur = self.conn.cursor()
            cur.row_factory = None  # plain tuples
            for pid, value in cur.execute(  # row by row, no list of rows: no garbage collection triggered
                f"SELECT photo_id, {column} FROM signals WHERE photo_id IN ({','.join('?' * len(chunk))})", chunk
            ):
                got[pid] = value
        return np.array([got.get(i) for i in ids], dtype=np.float64)  # None: NaN

    def signal_matrix(self, ids: Sequence[int]) -> np.ndarray:
        """(len(ids), len(SIGNAL_COLUMNS)) float32; NaN rows for photos without signals."""
        if len(ids) <= 4096:  # a few photos: read just theirs
            return self._signal_rows(self.conn, ids)
        sig = self.signals()
        out = np.full((len(ids), len(SIGNAL_COLUMNS)), np.nan, dtype=np.float32)
        for k, i in enumerate(ids):
            s = sig.get(i)
            if s:
                out[k] = [s[c] for c in SIGNAL_COLUMNS]
        return out

    @staticmethod
    def _signal_rows(conn, ids: Sequence[int]) -> np.ndarray:
        """Signals of these photos read through ``conn`` (a connection or a transaction), in ``ids`` order."""
        ids = [int(i) for i in ids]
        out = np.full((len(ids), len(SIGNAL_COLUMNS)), np.nan, dtype=np.float32)
        row = {pid: k for k, pid in enumerate(ids)}
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            for r in conn.execute(
                f"SELECT photo_id, {', '.join(SIGNAL_COLUMNS)} FROM signals WHERE photo_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall():
                out[row[r[0]]] = [np.nan if v is None else v for v in tuple(r)[1:]]
        return out

    def set_embeddings(self, rows: Iterable[tuple[int, str, str, np.ndarray]]) -> None:
        """Rows of (photo_id, model name, content hash, vector); vectors are stored as float16."""
        rows = list(rows)
        with self.transaction() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO embeddings(photo_id, model, content_hash, vector) VALUES (?,?,?,?)",
                [(pid, m, h, np.asarray(v, dtype=np.float16).tobytes()) for pid, m, h, v in rows],
            )
            # what was computed from the old vector is stale (the taste column is stored again after it)
            tx.executemany("DELETE FROM taste_columns WHERE photo_id=?", [(pid,) for pid, _m, _h, _v in rows])
            tx.executemany("DELETE FROM taste_features WHERE photo_id=?", [(pid,) for pid, _m, _h, _v in rows])

    def photos_needing_embeddings(self, model: str) -> list[tuple[int, str, str]]:
        rows = self.conn.execute(
            "SELECT p.id, p.path, p.content_hash FROM photos p LEFT JOIN embeddings e ON e.photo_id=p.id "
            "AND e.model=? AND e.content_hash=p.content_hash WHERE p.missing=0 AND e.photo_id IS NULL ORDER BY p.id",
            (model,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def embeddings_of(self, model: str, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored float16 vectors of ``model`` for these photo ids (those that have one)."""
        out: dict[int, np.ndarray] = {}
        ids = [int(i) for i in ids]
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            rows = self.conn.execute(
                f"SELECT photo_id, vector FROM embeddings WHERE model=? AND photo_id IN ({','.join('?' * len(chunk))})",
                [model, *chunk],
            ).fetchall()
            for pid, blob in rows:
                out[int(pid)] = np.frombuffer(blob, dtype=np.float16)
        return out

    def embedding_matrix(self, model: str, ids: Sequence[int], width: Optional[int] = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids int64, float16 matrix with one row each) of the stored vectors of ``model`` for these photo
        ids, in the order :meth:`embeddings_of` gives them; ``width``: only the first values of each (read so);
        rows of another length than the first (damaged) are left out. One matrix from the blobs instead of one
        small array per photo: the stacks worker reads ~10,000 burst frames this way, holding the interpreter
        lock little."""
        pids: list[int] = []
        sizes: list[int] = []
        blobs: list[bytes] = []
        ids = [int(i) for i in ids]
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples
        part = "vector" if width is None else f"substr(vector, 1, {2 * int(width)})"
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            for pid, size, blob in cur.execute(  # row by row, no list of rows: no garbage collection triggered
                f"SELECT photo_id, length(vector), {part} FROM embeddings WHERE model=? "
                f"AND photo_id IN ({','.join('?' * len(chunk))})",
                [model, *chunk],
            ):
                pids.append(pid)
                sizes.append(size)
                blobs.append(blob)
        if not blobs or sizes[0] % 2:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float16)
        if sizes.count(sizes[0]) != len(sizes):
            ok = [k for k, n in enumerate(sizes) if n == sizes[0]]
            pids, blobs = [pids[k] for k in ok], [blobs[k] for k in ok]
        mat = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1)
        return np.array(pids, dtype=np.int64), mat

    def set_taste_columns(self, model: str, rows: Iterable[tuple[int, float]]) -> int:
        """Store (photo_id, value) of the generic taste model ``model`` (its signature), computed from the
        photo's stored embedding (a new embedding of the photo deletes the value: set_embeddings)."""
        data = [(int(pid), model, float(v)) for pid, v in rows if np.isfinite(v)]
        with self.transaction() as tx:
            tx.executemany("INSERT OR REPLACE INTO taste_columns(photo_id, model, value) VALUES (?,?,?)", data)
        return len(data)

    def taste_columns(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids int64, values float32) stored by ``model``, ordered by photo id."""
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: 100,000 sqlite3.Row objects cost seconds
        rows = cur.execute("SELECT photo_id, value FROM taste_columns WHERE model=? ORDER BY photo_id", (model,)).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        ids, vals = zip(*rows)
        return np.fromiter(ids, np.int64, len(rows)), np.fromiter(vals, np.float32, len(rows))

    def embeddings_with_hash(self, model: str, ids: Sequence[int]) -> dict[int, tuple[str, np.ndarray]]:
        """photo id -> (content hash it was computed from, float16 vector) of ``model``, for these photos."""
        out: dict[int, tuple[str, np.ndarray]] = {}
        ids = [int(i) for i in ids]
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            for pid, h, blob in self.conn.execute(
                "SELECT photo_id, content_hash, vector FROM embeddings WHERE model=? "
                f"AND photo_id IN ({','.join('?' * len(chunk))})", [model, *chunk],
            ).fetchall():
                out[int(pid)] = (h, np.frombuffer(blob, dtype=np.float16))
        return out

    def set_taste_features(self, model: str, emb_model: str, rows: Iterable[tuple[int, str, np.ndarray]],
                           signals_part) -> tuple[np.ndarray, np.ndarray]:
        """Store each photo's feature row under the signature ``model`` (see ``taste_features``).

        ``rows``: (photo id, content hash of the ``emb_model`` embedding it was computed from, the part of
        the row computed from that embedding). In one write transaction the photos' signals are read and
        turned into the rest of the row by ``signals_part`` ((n, len(SIGNAL_COLUMNS)) float32, NaN where a
        photo has none -> (n, m)), and a row is stored only where the photo's embedding is still that one
        (same backbone, same content hash): a row never outlives what it was computed from.
        Returns (photo ids, full rows) as stored, float32."""
        rows = [(int(pid), h, np.asarray(v, np.float32)) for pid, h, v in rows]
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        with self.transaction() as tx:
            current: dict[int, str] = {}
            ids = [r[0] for r in rows]
            for i in range(0, len(ids), 900):
                chunk = ids[i : i + 900]
                current.update(tx.execute(
                    f"SELECT photo_id, content_hash FROM embeddings WHERE model=? AND photo_id IN "
                    f"({','.join('?' * len(chunk))})", [emb_model, *chunk]).fetchall())
            rows = [r for r in rows if current.get(r[0]) == r[1]]
            if not rows:
                return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
            ids = np.array([r[0] for r in rows], np.int64)
            sig = self._signal_rows(tx, ids.tolist())
            phi = np.ascontiguousarray(
                np.concatenate([np.stack([r[2] for r in rows]), np.asarray(signals_part(sig), np.float32)], axis=1),
                dtype=np.float32)
            keep = np.all(np.isfinite(phi), axis=1)
            ids, phi = ids[keep], phi[keep]
            tx.executemany("INSERT OR REPLACE INTO taste_features(photo_id, model, phi) VALUES (?,?,?)",
                           [(int(pid), model, phi[k].tobytes()) for k, pid in enumerate(ids.tolist())])
        return ids, phi

    def taste_features(self, model: str, emb_model: str, dim: int,
                       ids: Optional[Sequence[int]] = None) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids int64, (n, dim) float32 rows) of every present photo with an ``emb_model`` embedding (or
        of those of ``ids``), ascending: each photo's feature row stored under the signature ``model``, a NaN
        row where none is stored. The embeddings themselves are not read."""
        dim = int(dim)
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: 100,000 sqlite3.Row objects cost seconds
        if ids is None:
            # the whole library in three aggregate reads (the rows' blobs joined in SQLite: no Python object
            # per photo): the embedded photos (index embeddings_model), the missing ones (photos_missing),
            # the stored rows
            emb_ids = _id_list(cur.execute(
                "SELECT group_concat(photo_id) FROM (SELECT photo_id FROM embeddings WHERE model=? ORDER BY photo_id)",
                (emb_model,)).fetchone()[0])
            gone = _id_list(cur.execute("SELECT group_concat(id) FROM photos WHERE missing=1").fetchone()[0])
            got_txt, blob, n = cur.execute(
                "SELECT group_concat(photo_id), CAST(group_concat(phi, '') AS BLOB), COUNT(*) FROM taste_features "
                "WHERE model=?", (model,)).fetchone()
            got = _id_list(got_txt)
            if n and (blob is None or len(blob) != n * 4 * dim or len(got) != n or np.any(np.diff(got) <= 0)):
                # a row of another length, or not in id order: read them one by one
                rows = cur.execute("SELECT photo_id, phi FROM taste_features WHERE model=? AND length(phi)=? "
                                   "ORDER BY photo_id", (model, 4 * dim)).fetchall()
                got = np.fromiter((r[0] for r in rows), np.int64, len(rows))
                blob = b"".join(r[1] for r in rows)
            out_ids = np.setdiff1d(emb_ids, gone, assume_unique=True) if len(gone) else emb_ids
            stored = np.frombuffer(blob, np.float32).reshape(-1, dim) if len(got) else np.zeros((0, dim), np.float32)
            pos = np.clip(np.searchsorted(got, out_ids), 0, max(len(got) - 1, 0))
            hit = (got[pos] == out_ids) if len(got) else np.zeros(len(out_ids), bool)
            if hit.all():  # (read-only when it is the stored block itself: no copy of 27 MB)
                return out_ids, stored if len(got) == len(out_ids) else stored[pos]
            phi = np.full((len(out_ids), dim), np.nan, np.float32)
            phi[hit] = stored[pos[hit]]
            return out_ids, phi
        sql = ("SELECT e.photo_id, t.phi FROM embeddings e JOIN photos p ON p.id=e.photo_id "
               "LEFT JOIN taste_features t ON t.photo_id=e.photo_id AND t.model=? WHERE e.model=? AND p.missing=0")
        want = sorted(set(int(i) for i in ids))
        rows = []
        for i in range(0, len(want), 900):
            chunk = want[i : i + 900]
            rows += cur.execute(sql + f" AND e.photo_id IN ({','.join('?' * len(chunk))}) ORDER BY e.photo_id",
                                (model, emb_model, *chunk)).fetchall()
        out_ids = np.array([r[0] for r in rows], np.int64)
        phi = np.full((len(rows), dim), np.nan, np.float32)
        for k, (_pid, b) in enumerate(rows):
            if b is not None and len(b) == 4 * dim:
                phi[k] = np.frombuffer(b, np.float32)
        return out_ids, phi

    def random_embedded_ids(self, model: str, limit: int, include_rejected: bool = False) -> list[int]:
        """Up to ``limit`` present photos with a ``model`` embedding, in random order (rejects left out)."""
        return [int(r[0]) for r in self.conn.execute(
            "SELECT e.photo_id FROM embeddings e JOIN photos p ON p.id=e.photo_id WHERE e.model=? AND p.missing=0 "
            + ("" if include_rejected else "AND p.flag>=0 ") + "ORDER BY RANDOM() LIMIT ?", (model, int(limit)))]

    def flagged(self, flag: int) -> list[int]:
        """Ids of photos with this pick flag (1 pick, -1 reject, 0 none)."""
        return [int(r[0]) for r in self.conn.execute("SELECT id FROM photos WHERE flag=?", (int(flag),))]

    # ------------------------------------------------------------------ personal model versions
    def personal_model(self, kind: str) -> Optional[tuple[int, Optional[bytes]]]:
        """(id, blob) of the active personal model of ``kind``, or None."""
        row = self.conn.execute(
            "SELECT id, blob FROM personal_models WHERE kind=? AND active=1 ORDER BY id DESC LIMIT 1", (kind,)
        ).fetchone()
        return (int(row[0]), None if row[1] is None else bytes(row[1])) if row else None

    def personal_model_versions(self, kind: str) -> list[dict]:
        """Every stored personal model of ``kind``, newest first (without blobs)."""
        rows = self.conn.execute(
            "SELECT id, created_at, metrics, n_ratings, n_preferences, active FROM personal_models WHERE kind=? "
            "ORDER BY id DESC", (kind,)
        ).fetchall()
        return [{"id": r[0], "created_at": r[1], "metrics": json.loads(r[2] or "{}"), "n_ratings": r[3],
                 "n_preferences": r[4], "active": bool(r[5])} for r in rows]

    def store_personal_model(self, kind: str, blob: bytes, metrics: dict, n_ratings: int, n_preferences: int) -> int:
        """Store a new personal model of ``kind`` as the active one (earlier ones kept for history)."""
        with self.transaction() as tx:
            tx.execute("UPDATE personal_models SET active=0 WHERE kind=?", (kind,))
            cur = tx.execute(
                "INSERT INTO personal_models(kind, created_at, path, blob, metrics, n_ratings, n_preferences, active) "
                "VALUES (?,?,?,?,?,?,?,1)",
                (kind, time.time(), None, blob, json.dumps(metrics, sort_keys=True), n_ratings, n_preferences),
            )
            return int(cur.lastrowid)

    def activate_personal_model(self, kind: str, model_id: Optional[int]) -> bool:
        """Make version ``model_id`` the active model of ``kind`` (None: none active, the prior is used).
        Returns False (and changes nothing) when there is no such version."""
        with self.transaction() as tx:
            if model_id is not None and not tx.execute(
                "SELECT 1 FROM personal_models WHERE id=? AND kind=?", (int(model_id), kind)
            ).fetchone():
                return False
            tx.execute("UPDATE personal_models SET active=0 WHERE kind=?", (kind,))
            if model_id is not None:
                tx.execute("UPDATE personal_models SET active=1 WHERE id=?", (int(model_id),))
        return True

    def embeddings(self, model: Optional[str] = None) -> tuple[np.ndarray, np.ndarray]:
        """All cached embeddings of present photos: (ids int64 array, float32 matrix)."""
        sql = "SELECT e.photo_id, e.vector FROM embeddings e JOIN photos p ON p.id=e.photo_id WHERE p.missing=0"
        params: tuple = ()
        if model:
            sql += " AND e.model=?"
            params = (model,)
        # Streamed into one preallocated float16 matrix (no list of 100k blobs, no joined copy): peak
        # memory is the float16 matrix plus the float32 result (benchmarks/scale.py, 100k photos).
        n = self.conn.execute(sql.replace("e.photo_id, e.vector", "COUNT(*)", 1), params).fetchone()[0]
        cur = self.conn.execute(sql + " ORDER BY e.photo_id", params)
        ids = np.empty(n, dtype=np.int64)
        mat: Optional[np.ndarray] = None
        k = 0
        while True:
            chunk = cur.fetchmany(2048)
            if not chunk:
                break
            for pid, blob in chunk:
                if mat is None:
                    mat = np.empty((max(n, 1), len(blob) // 2), dtype=np.float16)
                if len(blob) != mat.shape[1] * 2:
                    continue  # a vector of another model/size cannot share the matrix
                if k >= len(ids):  # rows added meanwhile by another connection
                    ids = np.resize(ids, 2 * k + 1)
                    mat = np.resize(mat, (2 * k + 1, mat.shape[1]))
                ids[k] = pid
                mat[k] = np.frombuffer(blob, dtype=np.float16)
                k += 1
        if mat is None or k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return ids[:k].copy(), mat[:k].astype(np.float32)

    # ------------------------------------------------------------------ faces (core/faces.py)
    def set_faces(self, model: str, rows: Iterable[tuple[int, str, list[dict]]]) -> None:
        """Rows of (photo_id, content hash, faces as dicts) found with the face models ``model``."""
        from piaa_desktop.core.faces import summarize

        data = []
        for pid, chash, faces in rows:
            s = summarize(faces)
            data.append((int(pid), model, chash, json.dumps(faces), s.n_faces, s.closed_eyes, s.soft_faces))
        with self.transaction() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO faces(photo_id, model, content_hash, faces, n_faces, closed_eyes, soft_faces) "
                "VALUES (?,?,?,?,?,?,?)",
                data,
            )

    def photos_needing_faces(self, model: str, ids: Optional[Iterable[int]] = None) -> list[tuple[int, str, str]]:
        """(id, path, content hash) of present photos without faces from ``model`` for their current content."""
        rows = self.conn.execute(
            "SELECT p.id, p.path, p.content_hash FROM photos p LEFT JOIN faces f ON f.photo_id=p.id "
            "AND f.model=? AND f.content_hash=p.content_hash WHERE p.missing=0 AND f.photo_id IS NULL ORDER BY p.id",
            (model,),
        ).fetchall()
        if ids is not None:
            wanted = set(int(i) for i in ids)
            rows = [r for r in rows if r[0] in wanted]
        return [(r[0], r[1], r[2]) for r in rows]

    def faces(self, model: str, ids: Optional[Sequence[int]] = None) -> dict[int, list[dict]]:
        """Faces found with ``model``, per photo id (photos analysed without a face map to [])."""
        sql = "SELECT photo_id, faces FROM faces WHERE model=?"
        params: list = [model]
        if ids is not None:
            ids = [int(i) for i in ids]
            if not ids:
                return {}
            sql += f" AND photo_id IN ({','.join('?' * len(ids))})"
            params += ids
        return {r[0]: json.loads(r[1]) for r in self.conn.execute(sql, params)}

    def faces_version(self) -> Optional[int]:
        """Changes whenever faces are stored (a stored row gets a new rowid, replaced or not): what the grid's
        stacks check before they read their members' faces again."""
        return self.conn.execute("SELECT max(rowid) FROM faces").fetchone()[0]

    def face_counts(self, model: str) -> dict[int, tuple[int, int, int]]:
        """photo id -> (faces, faces with closed eyes, soft faces), for photos analysed with ``model``."""
        return {
            r[0]: (r[1], r[2], r[3])
            for r in self.conn.execute(
                "SELECT photo_id, n_faces, closed_eyes, soft_faces FROM faces WHERE model=?", (model,)
            )
        }

    FACE_FILTERS = {
        "closed": "closed_eyes > 0",
        "soft": "soft_faces > 0",
        "none": "n_faces = 0",
        "any": "n_faces > 0",
    }

    def face_filter_ids(self, model: str, kind: str) -> list[int]:
        """Photos analysed with ``model`` that have closed eyes, a soft face, no face or any face (``kind``
        a key of :attr:`FACE_FILTERS`)."""
        cond = self.FACE_FILTERS.get(kind)
        if cond is None:
            raise ValueError(f"unknown faces filter {kind!r}; choose one of {', '.join(self.FACE_FILTERS)}")
        return [r[0] for r in self.conn.execute(f"SELECT photo_id FROM faces WHERE model=? AND {cond}", (model,))]

    def set_scores(self, kind: str, rows: Iterable[tuple[int, float, Optional[Sequence[float]]]], model_version: str = "") -> int:
        """Replace all scores of ``kind`` with rows of (photo_id, score, distribution or None)."""
        if kind == "personal":
            rows = list(rows)
            dists = [d for _p, _s, d in rows]
            full = bool(rows) and all(d is not None and len(d) == 5 for d in dists)
            return self.set_score_arrays(kind, [r[0] for r in rows], [r[1] for r in rows],
                                         dists if full else None, model_version,
                                         None if full else [None if d is None else _dist_blob(d) for d in dists])
        data = [(int(pid), float(s), _dist_json(d), kind, model_version) for pid, s, d in rows]
        with self.transaction() as tx:
            tx.execute("DELETE FROM scores WHERE kind=?", (kind,))
            tx.executemany(
                "INSERT INTO scores(photo_id, score, distribution, kind, model_version) VALUES (?,?,?,?,?)", data
            )
        self._emit(Change("scores", kind, [d[0] for d in data]))
        return len(data)

    SCORE_CHUNK = 8192  # personal scores written per transaction (~20-40 ms on the 2-core machine)

    def set_score_arrays(self, kind: str, ids, scores, dists=None, model_version: str = "", _blobs=None) -> int:
        """Replace all scores of ``kind`` from arrays: ids (N,), scores (N,), distributions (N, 5) or None.

        The personal score (rewritten whole by every re-score) lives in ``personal_scores``, one row per
        photo: the old rows are truncated and the new ones appended in id order, distributions as 5 float32."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        scores = np.asarray(scores, np.float64).reshape(-1)
        if kind != "personal":
            d = [None] * len(ids) if dists is None else np.asarray(dists, np.float64).tolist()
            return self.set_scores(kind, zip(ids.tolist(), scores.tolist(), d), model_version)
        order = np.arange(len(ids)) if np.all(ids[1:] > ids[:-1]) else np.argsort(ids, kind="stable")
        ids, scores = ids[order], scores[order]
        if _blobs is not None:
            blobs = [_blobs[k] for k in order.tolist()]
        elif dists is None:
            blobs = [None] * len(ids)
        else:
            d = np.ascontiguousarray(np.asarray(dists, np.float32).reshape(len(ids), -1)[order])
            blobs = d.view(np.dtype((np.void, d.shape[1] * 4))).reshape(-1).tolist()  # one bytes per row
        # Rows of photos already scored are updated in place (no page allocated, no key checked: the cheapest
        # write SQLite has, measured), new photos inserted, those no longer scored deleted. In transactions of
        # SCORE_CHUNK rows: a rating the user makes meanwhile waits for one chunk (the write gate hands the
        # catalog over first come, first served), not for the whole library. Each row is whole; a re-score cut
        # short leaves rows of two model versions (each row names its own), which the next re-score replaces.
        with self.transaction() as tx:
            old = _id_list(tx.execute("SELECT group_concat(photo_id) FROM personal_scores").fetchone()[0])
            known = np.isin(ids, old, assume_unique=True)
            gone = np.setdiff1d(old, ids, assume_unique=True)
            if len(gone):
                tx.executemany("DELETE FROM personal_scores WHERE photo_id=?", ((i,) for i in gone.tolist()))
        sc, idl, kn = scores.tolist(), ids.tolist(), known.tolist()
        for lo in range(0, len(idl), self.SCORE_CHUNK):
            rows = range(lo, min(lo + self.SCORE_CHUNK, len(idl)))
            with self.transaction() as tx:
                tx.executemany("UPDATE personal_scores SET score=?, distribution=?, model_version=? WHERE photo_id=?",
                               ((sc[k], blobs[k], model_version, idl[k]) for k in rows if kn[k]))
                tx.executemany("INSERT INTO personal_scores(photo_id, score, distribution, model_version) VALUES (?,?,?,?)",
                               ((idl[k], sc[k], blobs[k], model_version) for k in rows if not kn[k]))
        self._emit(Change("scores", kind, idl))
        return len(ids)

    def scores(self, kind: str) -> dict[int, float]:
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: 3x faster than sqlite3.Row at 100,000 photos (GUI thread)
        if kind == "personal":
            return dict(cur.execute("SELECT photo_id, score FROM personal_scores").fetchall())
        return dict(cur.execute("SELECT photo_id, score FROM scores WHERE kind=?", (kind,)).fetchall())

    def score_detail(self, photo_id: int) -> dict[str, dict]:
        out = {}
        for r in self.conn.execute(
            "SELECT kind, score, distribution, model_version FROM scores WHERE photo_id=? UNION ALL "
            "SELECT 'personal', score, distribution, model_version FROM personal_scores WHERE photo_id=?",
            (photo_id, photo_id),
        ):
            out[r[0]] = {
                "score": r[1],
                "distribution": _dist_read(r[2]),
                "model_version": r[3],
            }
        return out

    # ------------------------------------------------------------------ the scanner's writes
    class PhotoWriter:
        """The writes of one import batch, inside one transaction (see :meth:`Catalog.photo_writer`)."""

        def __init__(self, tx: "Catalog._Tx"):
            self.tx = tx

        def record_error(self, path: str, folder_id: Optional[int], reason: str, seen_at: float) -> None:
            self.tx.execute(
                "INSERT OR REPLACE INTO import_errors(path, folder_id, reason, seen_at) VALUES (?,?,?,?)",
                (path, folder_id, reason, seen_at),
            )

        def clear_error(self, path: str) -> None:
            self.tx.execute("DELETE FROM import_errors WHERE path=?", (path,))

        def update_photo(self, photo_id: int, cols: dict) -> None:
            if cols.get("missing") == 0:
                # a photo found on disk again is not in the trash any more (restored outside the app)
                cols = {**cols, "trashed_at": None, "trash_path": None}
            sets = ", ".join(f"{k}=?" for k in cols)
            self.tx.execute(f"UPDATE photos SET {sets} WHERE id=?", [*cols.values(), photo_id])

        def photo_at(self, path: str) -> Optional[sqlite3.Row]:
            """(id, content_hash) of the photo at ``path`` as it is now (the write lock is held)."""
            return self.tx.execute("SELECT id, content_hash FROM photos WHERE path=?", (path,)).fetchone()

        def insert_photo(self, cols: dict) -> int:
            return int(self.tx.execute(
                f"INSERT INTO photos({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", list(cols.values())
            ).lastrowid)

    @contextlib.contextmanager
    def photo_writer(self) -> Iterator["Catalog.PhotoWriter"]:
        """One transaction of the scanner's photo and import-error writes (committed together)."""
        with self.transaction() as tx:
            yield Catalog.PhotoWriter(tx)

    def mark_missing(self, photo_ids: Sequence[int]) -> None:
        now = time.time()
        with self.transaction() as tx:
            tx.executemany("UPDATE photos SET missing=1, updated_at=? WHERE id=?", [(now, int(i)) for i in photo_ids])

    def folder_scanned(self, folder_id: int) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE folders SET last_scan=? WHERE id=?", (time.time(), folder_id))

    # ------------------------------------------------------------------ keywords
    def keywords_of(self, photo_ids: Optional[Sequence[int]] = None) -> dict[int, list[str]]:
        """Photo id -> its keyword paths (sorted, without case); photos without keywords are absent."""
        sql = "SELECT pk.photo_id, k.path FROM photo_keywords pk JOIN keywords k ON k.id=pk.keyword_id"
        order = " ORDER BY pk.photo_id, k.path COLLATE NOCASE"
        out: dict[int, list[str]] = {}
        if photo_ids is None:
            chunks: list[tuple[str, list]] = [(sql + order, [])]
        else:
            ids = [int(i) for i in photo_ids]
            chunks = [
                (sql + f" WHERE pk.photo_id IN ({','.join('?' * len(part))})" + order, part)
                for part in (ids[k : k + 900] for k in range(0, len(ids), 900))
            ]
        for q, params in chunks:
            for pid, path in self.conn.execute(q, params):
                out.setdefault(pid, []).append(path)
        return out

    def photo_keywords(self, photo_id: int) -> list[str]:
        return self.keywords_of([photo_id]).get(int(photo_id), [])

    def keyword_counts(self) -> dict[str, int]:
        """Every keyword path -> number of present photos carrying it (0 for unused ones), sorted by path."""
        rows = self.conn.execute(
            "SELECT k.path, COUNT(p.id) FROM keywords k LEFT JOIN photo_keywords pk ON pk.keyword_id=k.id "
            "LEFT JOIN photos p ON p.id=pk.photo_id AND p.missing=0 GROUP BY k.id ORDER BY k.path COLLATE NOCASE"
        )
        return {r[0]: r[1] for r in rows}

    def set_keywords(self, photo_ids: Sequence[int], keywords: Iterable[str]) -> Change:
        """Give each photo exactly ``keywords`` (hierarchical paths "A|B|C"); an undoable Change."""
        kws = _clean_keywords(keywords)
        return self._apply_keyword_change(
            Change("keywords", "keywords", list(photo_ids), after={int(i): kws for i in photo_ids})
        )

    def add_keywords(self, photo_ids: Sequence[int], keywords: Iterable[str]) -> Change:
        add = _clean_keywords(keywords)
        ids = [int(i) for i in photo_ids]
        cur = self.keywords_of(ids)
        after = {i: _clean_keywords([*cur.get(i, []), *add]) for i in ids}
        return self._apply_keyword_change(Change("keywords", "keywords", ids, after=after))

    def remove_keywords(self, photo_ids: Sequence[int], keywords: Iterable[str]) -> Change:
        """Remove keyword paths (without case) and the keywords below them from photos."""
        gone = [k.lower() for k in _clean_keywords(keywords)]
        ids = [int(i) for i in photo_ids]
        cur = self.keywords_of(ids)

        def keep(path: str) -> bool:
            low = path.lower()
            return not any(low == g or low.startswith(g + "|") for g in gone)

        after = {i: tuple(k for k in cur.get(i, []) if keep(k)) for i in ids}
        return self._apply_keyword_change(Change("keywords", "keywords", ids, after=after))

    def _keyword_id(self, tx, path: str) -> int:
        tx.execute("INSERT OR IGNORE INTO keywords(path) VALUES (?)", (path,))
        return tx.execute("SELECT id FROM keywords WHERE path=?", (path,)).fetchone()[0]

    def _apply_keyword_change(self, change: Change) -> Change:
        ids = list(dict.fromkeys(int(i) for i in change.photo_ids))
        if not ids:
            return Change("keywords", "keywords", [])
        with self.transaction() as tx:
            present = {
                r[0] for r in tx.execute(f"SELECT id FROM photos WHERE id IN ({','.join('?' * len(ids))})", ids)
            }
            ids = [i for i in ids if i in present]
            before: dict[int, tuple] = {i: () for i in ids}
            if ids:
                for pid, path in tx.execute(
                    "SELECT pk.photo_id, k.path FROM photo_keywords pk JOIN keywords k ON k.id=pk.keyword_id "
                    f"WHERE pk.photo_id IN ({','.join('?' * len(ids))}) ORDER BY k.path COLLATE NOCASE",
                    ids,
                ):
                    before[pid] = before[pid] + (path,)
            after: dict[int, tuple] = {}
            now = time.time()
            for i in ids:
                want = _clean_keywords(change.after.get(i) or ())
                after[i] = want
                if [k.lower() for k in want] == [k.lower() for k in before[i]]:
                    after[i] = before[i]
                    continue
                tx.execute("DELETE FROM photo_keywords WHERE photo_id=?", (i,))
                tx.executemany(
                    "INSERT OR IGNORE INTO photo_keywords(photo_id, keyword_id) VALUES (?, ?)",
                    [(i, self._keyword_id(tx, k)) for k in want],
                )
                tx.execute("UPDATE photos SET updated_at=? WHERE id=?", (now, i))
            done = Change("keywords", "keywords", ids, before, after)
            self._in_transaction(tx, done)
        return self._emit(done)

    def delete_unused_keywords(self) -> int:
        """Forget keywords no photo carries any more; returns how many."""
        with self.transaction() as tx:
            return tx.execute(
                "DELETE FROM keywords WHERE id NOT IN (SELECT DISTINCT keyword_id FROM photo_keywords)"
            ).rowcount

    # ------------------------------------------------------------------ sidecars still to write (core.sync)
    @staticmethod
    def _pending_row(r) -> dict:
        return {"photo_id": r[0], "what": r[1], "keywords_added": json.loads(r[2]) if r[2] else [],
                "keywords_removed": json.loads(r[3]) if r[3] else [], "seq": r[4]}

    def sidecar_pending_in(self, tx, photo_ids: Sequence[int]) -> dict[int, dict]:
        """Inside a transaction: the pending sidecar rows of these photos, by photo id."""
        ids = [int(i) for i in photo_ids]
        out: dict[int, dict] = {}
        for k in range(0, len(ids), 900):
            chunk = ids[k:k + 900]
            for r in tx.execute(
                "SELECT photo_id, what, keywords_added, keywords_removed, seq FROM sidecar_pending "
                f"WHERE photo_id IN ({','.join('?' * len(chunk))})", chunk,
            ):
                out[r[0]] = self._pending_row(r)
        return out

    def put_sidecar_pending(self, tx, rows: dict[int, tuple[int, list, list]]) -> None:
        """Inside a transaction: mark sidecars to write, ``{photo_id: (what, keywords_added, keywords_removed)}``
        (replacing the photo's row; each gets a new, larger ``seq``)."""
        if not rows:
            return
        seq = tx.execute("SELECT COALESCE(MAX(seq), 0) FROM sidecar_pending").fetchone()[0]
        now = time.time()
        data = []
        for k, (pid, (what, added, removed)) in enumerate(rows.items(), 1):
            data.append((int(pid), int(what), json.dumps(list(added)) if added else None,
                         json.dumps(list(removed)) if removed else None, seq + k, now))
        tx.executemany(
            "INSERT OR REPLACE INTO sidecar_pending(photo_id, what, keywords_added, keywords_removed, seq, marked_at) "
            "VALUES (?,?,?,?,?,?)", data,
        )

    def add_sidecar_pending(self, tx, photo_ids: Sequence[int], what: int) -> None:
        """Inside a transaction: mark these photos' sidecars to write ``what`` (bits) besides whatever their
        pending row already says (its keyword change kept), each with a new, larger ``seq`` in the order
        given: what :meth:`put_sidecar_pending` does for a change without keywords, in one statement."""
        if not photo_ids:
            return
        seq = tx.execute("SELECT COALESCE(MAX(seq), 0) FROM sidecar_pending").fetchone()[0]
        tx.execute(
            "INSERT INTO sidecar_pending(photo_id, what, keywords_added, keywords_removed, seq, marked_at) "
            "SELECT value, ?, NULL, NULL, ? + key + 1, ? FROM json_each(?) WHERE true "
            "ON CONFLICT(photo_id) DO UPDATE SET what = what | excluded.what, seq = excluded.seq, "
            "marked_at = excluded.marked_at",
            (int(what), seq, time.time(), json.dumps(list(map(int, photo_ids)))),
        )

    def sidecar_pending(self, photo_id: int) -> Optional[dict]:
        row = self.conn.execute(
            "SELECT photo_id, what, keywords_added, keywords_removed, seq FROM sidecar_pending WHERE photo_id=?",
            (int(photo_id),),
        ).fetchone()
        return self._pending_row(row) if row else None

    def sidecar_pending_ids(self) -> list[int]:
        """Photos whose sidecar is still to write, oldest mark first."""
        return [r[0] for r in self.conn.execute("SELECT photo_id FROM sidecar_pending ORDER BY seq")]

    def clear_sidecar_pending(self, done: Iterable[tuple[int, int]]) -> None:
        """Sidecars written: ``(photo_id, seq)`` rows are deleted unless marked again meanwhile."""
        done = [(int(p), int(s)) for p, s in done]
        if done:
            with self.transaction() as tx:
                tx.executemany("DELETE FROM sidecar_pending WHERE photo_id=? AND seq=?", done)

    # ------------------------------------------------------------------ search (core.search parses)
    def search_where(self, query) -> tuple[str, list]:
        """The SQL condition on ``photos p`` (with the scores joined as ``sp`` personal and ``sg`` generic,
        as :meth:`search_ids` does) for a :class:`~piaa_desktop.core.search.Query` (or its text)."""
        from piaa_desktop.core import search as S

        if isinstance(query, str):
            query = S.parse(query)
        sep = os.sep.replace("'", "''")
        dir_expr = f"rtrim(p.path, replace(p.path, '{sep}', ''))"
        name_expr = f"substr(p.path, length({dir_expr}) + 1)"
        # search_ids joins the personal (sp) and generic (sg) scores
        score_expr = "COALESCE(sp.score, sg.score)"
        generic_expr = "sg.score"
        date_expr = (
            "COALESCE(p.capture_time, strftime('%Y-%m-%dT%H:%M:%S', p.mtime, 'unixepoch', 'localtime'))"
        )
        kw_sql = (
            "p.id IN (SELECT pk.photo_id FROM photo_keywords pk JOIN keywords k ON k.id=pk.keyword_id "
            "WHERE ('|' || k.path || '|') LIKE ? ESCAPE '\\')"
        )
        kw_contains_sql = (
            "p.id IN (SELECT pk.photo_id FROM photo_keywords pk JOIN keywords k ON k.id=pk.keyword_id "
            "WHERE k.path LIKE ? ESCAPE '\\')"
        )
        ops = {"=": "=", ">=": ">=", "<=": "<=", ">": ">", "<": "<"}

        def bounds(expr: str, bs) -> tuple[str, list]:
            return " AND ".join(f"{expr} {ops[op]} ?" for op, _v in bs), [v for _op, v in bs]

        clauses, params = [], []
        for t in query.terms:
            if t.field == "keyword":
                sql, ps = kw_sql, [S.keyword_like(t.value)]
            elif t.field == "text":
                pat = S.like_contains(t.value)
                # the cheap whole-path LIKE first: the file-name expression runs only where it matched
                sql = (f"((p.path LIKE ? ESCAPE '\\' AND {name_expr} LIKE ? ESCAPE '\\') OR {kw_contains_sql} "
                       "OR p.camera LIKE ? ESCAPE '\\')")
                ps = [pat, pat, pat, pat]
            elif t.field == "name":
                pat = S.like_contains(t.value)
                sql, ps = f"(p.path LIKE ? ESCAPE '\\' AND {name_expr} LIKE ? ESCAPE '\\')", [pat, pat]
            elif t.field == "folder":
                sql, ps = f"{dir_expr} LIKE ? ESCAPE '\\'", [S.like_contains(t.value)]
            elif t.field in ("camera", "lens"):
                sql, ps = f"p.{t.field} LIKE ? ESCAPE '\\'", [S.like_contains(t.value)]
            elif t.field == "rating":
                sql, ps = bounds("p.rating", t.value)
            elif t.field == "score":
                sql, ps = bounds(score_expr, t.value)
            elif t.field == "generic":
                sql, ps = bounds(generic_expr, t.value)
            elif t.field == "date":
                sql, ps = bounds(date_expr, t.value)
            elif t.field == "flag":
                sql, ps = "p.flag = ?", [int(t.value)]
            elif t.field == "label":
                if t.value in ("none", "no", ""):
                    sql, ps = "p.color_label IS NULL", []
                else:
                    from piaa_desktop.core.xmp import normalize_color_label

                    sql, ps = "p.color_label = ?", [normalize_color_label(t.value)]
            elif t.field == "collection":
                sql = (
                    "p.id IN (SELECT cp.photo_id FROM collection_photos cp JOIN collections c "
                    "ON c.id=cp.collection_id WHERE c.name=?)"
                )
                ps = [t.value]
            else:  # pragma: no cover - the parser only makes the fields above
                raise ValueError(f"unknown search field {t.field!r}")
            clauses.append(f"NOT COALESCE(({sql}), 0)" if t.negate else f"({sql})")
            params.extend(ps)
        return (" AND ".join(clauses) or "1"), params

    def search_ids(self, query, within: Optional[Sequence[int]] = None) -> list[int]:
        """Ids of present photos matching a search query (text or parsed), in id order."""
        where, params = self.search_where(query)
        sql = (
            "SELECT p.id FROM photos p "
            "LEFT JOIN personal_scores sp ON sp.photo_id=p.id "
            "LEFT JOIN scores sg ON sg.photo_id=p.id AND sg.kind='generic' "
            f"WHERE p.missing=0 AND {where}"
        )
        if within is not None:
            ids = [int(i) for i in within]
            sql += f" AND p.id IN ({','.join('?' * len(ids))})"
            params = [*params, *ids]
        return [r[0] for r in self.conn.execute(sql + " ORDER BY p.id", params)]

    # ------------------------------------------------------------------ collections
    def collections(self, count_smart: bool = True) -> list[dict]:
        """Plain and smart collections: ``{id, name, query (None for a plain one), count}``, by name.

        ``count_smart=False`` leaves a smart collection's count None (counting runs its search)."""
        rows = self.conn.execute(
            "SELECT c.id, c.name, c.query, (SELECT COUNT(*) FROM collection_photos cp JOIN photos p "
            "ON p.id=cp.photo_id WHERE cp.collection_id=c.id AND p.missing=0) FROM collections c "
            "ORDER BY c.name COLLATE NOCASE"
        ).fetchall()
        out = []
        for cid, name, query, n in rows:
            if query is not None:
                n = None
                if not count_smart:
                    out.append({"id": cid, "name": name, "query": query, "count": None})
                    continue
                try:
                    n = len(self.search_ids(query))
                except ValueError:
                    n = 0
            out.append({"id": cid, "name": name, "query": query, "count": n})
        return out

    def create_collection(self, name: str, query: Optional[str] = None) -> int:
        """A plain collection (``query`` None) or a smart one (a saved search). Names are unique."""
        name = (name or "").strip()
        if not name:
            raise ValueError("a collection needs a name")
        if query is not None:
            from piaa_desktop.core.search import parse

            parse(query)  # raises SearchError (a ValueError) for a query that cannot be run
        try:
            with self.transaction() as tx:
                return tx.execute(
                    "INSERT INTO collections(name, query, created_at) VALUES (?, ?, ?)", (name, query, time.time())
                ).lastrowid
        except sqlite3.IntegrityError:
            raise ValueError(f"a collection named {name!r} exists already") from None

    def collection(self, collection_id: int) -> Optional[dict]:
        row = self.conn.execute("SELECT id, name, query FROM collections WHERE id=?", (collection_id,)).fetchone()
        return {"id": row[0], "name": row[1], "query": row[2]} if row else None

    def collection_by_name(self, name: str) -> Optional[dict]:
        row = self.conn.execute("SELECT id, name, query FROM collections WHERE name=?", (name,)).fetchone()
        return {"id": row[0], "name": row[1], "query": row[2]} if row else None

    def rename_collection(self, collection_id: int, name: str) -> None:
        name = (name or "").strip()
        if not name:
            raise ValueError("a collection needs a name")
        try:
            with self.transaction() as tx:
                tx.execute("UPDATE collections SET name=? WHERE id=?", (name, collection_id))
        except sqlite3.IntegrityError:
            raise ValueError(f"a collection named {name!r} exists already") from None

    def delete_collection(self, collection_id: int) -> None:
        """Forget a collection (its photos stay in the library)."""
        with self.transaction() as tx:
            tx.execute("DELETE FROM collections WHERE id=?", (collection_id,))

    def add_to_collection(self, collection_id: int, photo_ids: Sequence[int]) -> int:
        """Add photos to a plain collection; returns how many were new."""
        c = self.collection(collection_id)
        if c is None:
            raise ValueError(f"no collection {collection_id}")
        if c["query"] is not None:
            raise ValueError(f"{c['name']!r} is a smart collection: its photos come from its search")
        now = time.time()
        with self.transaction() as tx:
            before = tx.execute("SELECT COUNT(*) FROM collection_photos WHERE collection_id=?", (collection_id,)).fetchone()[0]
            tx.executemany(
                "INSERT OR IGNORE INTO collection_photos(collection_id, photo_id, added_at) "
                "SELECT ?, id, ? FROM photos WHERE id=?",
                [(collection_id, now, int(i)) for i in photo_ids],
            )
            after = tx.execute("SELECT COUNT(*) FROM collection_photos WHERE collection_id=?", (collection_id,)).fetchone()[0]
        self._emit(Change("collection", "collection", [int(i) for i in photo_ids]))
        return after - before

    def remove_from_collection(self, collection_id: int, photo_ids: Sequence[int]) -> None:
        with self.transaction() as tx:
            tx.executemany(
                "DELETE FROM collection_photos WHERE collection_id=? AND photo_id=?",
                [(collection_id, int(i)) for i in photo_ids],
            )
        self._emit(Change("collection", "collection", [int(i) for i in photo_ids]))

    def collection_ids(self, collection_id: int) -> list[int]:
        """The present photos of a collection (a smart one runs its search), in id order."""
        c = self.collection(collection_id)
        if c is None:
            return []
        if c["query"] is not None:
            return self.search_ids(c["query"])
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT p.id FROM collection_photos cp JOIN photos p ON p.id=cp.photo_id "
                "WHERE cp.collection_id=? AND p.missing=0 ORDER BY p.id",
                (collection_id,),
            )
        ]

    def photo_ids_under(self, directory: os.PathLike | str) -> list[int]:
        """Present photos inside ``directory`` or its sub-folders (exact, case-sensitive path prefix)."""
        prefix = str(Path(directory).resolve()).rstrip("/\\") + os.sep
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM photos WHERE missing=0 AND path >= ? AND path < ? ORDER BY id", (prefix, upper)
            )
        ]

    # ------------------------------------------------------------------ trash (core.trash moves the files)
    def mark_trashed(self, records: dict[int, list[dict]]) -> Change:
        """Photos whose files core.trash moved to the system trash: kept, marked trashed and missing,
        with ``records[id]`` (a list of ``{"from": path, "trash": path or None}``) to restore them."""
        ids = [int(i) for i in records]
        now = time.time()
        with self.transaction() as tx:
            tx.executemany(
                "UPDATE photos SET missing=1, trashed_at=?, trash_path=?, updated_at=? WHERE id=?",
                [(now, json.dumps(records[i]), now, i) for i in ids],
            )
        return self._emit(Change("trash", "trashed", ids, {i: False for i in ids}, {i: True for i in ids}))

    def mark_restored(self, photo_ids: Sequence[int]) -> Change:
        ids = [int(i) for i in photo_ids]
        now = time.time()
        with self.transaction() as tx:
            tx.executemany(
                "UPDATE photos SET missing=0, trashed_at=NULL, trash_path=NULL, updated_at=? WHERE id=?",
                [(now, i) for i in ids],
            )
        return self._emit(Change("trash", "trashed", ids, {i: True for i in ids}, {i: False for i in ids}))

    def trash_records(self, photo_ids: Optional[Sequence[int]] = None) -> dict[int, list[dict]]:
        """Trashed photo id -> where its files went (see :meth:`mark_trashed`), oldest first."""
        sql = "SELECT id, trash_path FROM photos WHERE trashed_at IS NOT NULL"
        params: list = []
        if photo_ids is not None:
            params = [int(i) for i in photo_ids]
            sql += f" AND id IN ({','.join('?' * len(params))})"
        return {r[0]: json.loads(r[1] or "[]") for r in self.conn.execute(sql + " ORDER BY trashed_at, id", params)}

    def trashed(self) -> list[dict]:
        """Photos in the trash: ``{id, path, trashed_at}``, most recent first."""
        rows = self.conn.execute(
            "SELECT id, path, trashed_at FROM photos WHERE trashed_at IS NOT NULL ORDER BY trashed_at DESC, id"
        )
        return [{"id": r[0], "path": r[1], "trashed_at": r[2]} for r in rows]

    # ------------------------------------------------------------------ import errors
    def record_import_error(self, path: str, folder_id: Optional[int], reason: str) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO import_errors(path, folder_id, reason, seen_at) VALUES (?,?,?,?)",
                (path, folder_id, reason, time.time()),
            )

    def clear_import_error(self, path: str) -> None:
        with self.transaction() as tx:
            tx.execute("DELETE FROM import_errors WHERE path=?", (path,))

    def import_errors(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.conn.execute("SELECT path, reason FROM import_errors ORDER BY path")]

    def import_errors_under(self, folder_id: int, root: os.PathLike | str) -> dict[str, tuple[str, float]]:
        """{path: (reason, seen_at)} of the import errors of a folder (same exact prefix as photos_under)."""
        prefix = str(root).rstrip("/\\") + os.sep
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self.conn.execute(
            "SELECT path, reason, seen_at FROM import_errors WHERE folder_id=? OR (path >= ? AND path < ?)",
            (folder_id, prefix, upper),
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    # ------------------------------------------------------------------ jobs (resume after a crash)
    def job_started(self, kind: str, args: dict) -> int:
        # "_pid" lets core.recovery tell a job whose process died from one still running elsewhere.
        args = {**args, "_pid": os.getpid()}
        with self.transaction() as tx:
            return tx.execute(
                "INSERT INTO jobs(kind, state, args, started_at) VALUES (?, 'running', ?, ?)",
                (kind, json.dumps(args), time.time()),
            ).lastrowid

    def job_finished(self, job_id: int, state: str = "done", detail: str = "") -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE jobs SET state=?, finished_at=?, detail=? WHERE id=?", (state, time.time(), detail, job_id)
            )

    # ------------------------------------------------------------------ bulk loading (synthetic catalogs, tools)
    BULK_TABLES = ("folders", "photos", "signals", "embeddings", "scores")

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        """Insert many rows into one of :data:`BULK_TABLES` in one transaction (the caller supplies ids;
        no change is announced): for synthetic catalogs and tools that build a catalog from scratch."""
        if table not in self.BULK_TABLES:
            raise ValueError(f"bulk_insert into {table!r} is not allowed")
        known = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
        bad = [c for c in columns if c not in known]
        if bad:
            raise ValueError(f"unknown columns of {table}: {', '.join(bad)}")
        with self.transaction() as tx:
            tx.executemany(
                f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows
            )

    def set_fast_writes(self, on: bool) -> None:
        """``synchronous=OFF`` while a throwaway catalog is bulk-loaded (never for a user's catalog)."""
        self.conn.execute(f"PRAGMA synchronous={'OFF' if on else 'NORMAL'}")

    def compact(self) -> None:
        """Fold the WAL into the database file and refresh the query planner's statistics."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute("ANALYZE")

    def jobs_in_state(self, state: str) -> list[tuple]:
        """``(id, kind, state, args json, started_at, detail)`` of the jobs in ``state``, oldest first."""
        return self.conn.execute(
            "SELECT id, kind, state, args, started_at, detail FROM jobs WHERE state=? ORDER BY id", (state,)
        ).fetchall()

    def set_job_state(self, job_id: int, state: str, from_state: str, detail: Optional[str] = None) -> None:
        """Move a job from ``from_state`` to ``state`` (with ``detail``; finished jobs get their end time)."""
        with self.transaction() as tx:
            if detail is None:
                tx.execute("UPDATE jobs SET state=?, finished_at=? WHERE id=? AND state=?",
                           (state, time.time(), job_id, from_state))
            else:
                tx.execute("UPDATE jobs SET state=?, detail=? WHERE id=? AND state=?", (state, detail, job_id, from_state))

    def check_messages(self, full: bool = False) -> list[str]:
        """SQLite's ``quick_check`` (or the full ``integrity_check``): ``["ok"]`` when the file is sound."""
        pragma = "integrity_check" if full else "quick_check"
        return [r[0] for r in self.conn.execute(f"PRAGMA {pragma}").fetchall()]

    def interrupted_jobs(self) -> list[dict]:
        """Jobs left 'running' by a process that died: the app offers to run them again."""
        rows = self.conn.execute("SELECT id, kind, args, started_at FROM jobs WHERE state='running' ORDER BY id")
        return [{"id": r[0], "kind": r[1], "args": json.loads(r[2] or "{}"), "started_at": r[3]} for r in rows]


def _clean_keywords(keywords: Iterable[str]) -> tuple:
    """Normalised keyword paths, duplicates (without case) dropped, sorted without case."""
    from piaa_desktop.core.search import normalize_keyword

    if isinstance(keywords, str):
        keywords = [keywords]
    seen: dict[str, str] = {}
    for k in keywords:
        n = normalize_keyword(k)
        if n and n.lower() not in seen:
            seen[n.lower()] = n
    return tuple(sorted(seen.values(), key=str.lower))


def _dist_json(d) -> Optional[str]:
    """A score distribution as compact JSON with 4 decimals (hot path: 100,000 rows per re-score)."""
    if d is None:
        return None
    text = "[%.4f,%.4f,%.4f,%.4f,%.4f]" % tuple(d) if len(d) == 5 else "[" + ",".join("%.4f" % float(x) for x in d) + "]"
    if "n" in text:  # nan or inf: let json write what json reads back
        return json.dumps([float(x) for x in d])
    return text


def _id_list(text: Optional[str]) -> np.ndarray:
    """Ids from a ``group_concat`` of integers (None: none) as an int64 array."""
    return np.array(text.split(","), dtype=np.int64) if text else np.zeros(0, np.int64)


def _dist_blob(d) -> bytes:
    """A score distribution as the float32 blob of ``personal_scores``."""
    return np.asarray(d, np.float32).reshape(-1).tobytes()


def _dist_read(v) -> Optional[list]:
    """A stored distribution (JSON text, or a float32 blob) as a list of floats; None when there is none."""
    if v is None or len(v) == 0:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return [round(float(x), 4) for x in np.frombuffer(bytes(v), np.float32)]
    return json.loads(v)


class _PackedChange:
    """A big rating/flag/label change as the undo stack keeps it: the ids as an int64 array and each side's
    values as small codes into its distinct values (100,000 photos: ~1 MB instead of two dicts of ~10 MB).
    :meth:`unpack` gives the same :class:`Change` back."""

    PACK_MIN = 1000  # photos: smaller changes are kept as they are

    def __init__(self, change: Change):
        self.kind, self.field = change.kind, change.field
        self.ids = np.fromiter(change.photo_ids, dtype=np.int64, count=len(change.photo_ids))
        self.photo_ids = self  # len() and truthiness as the Change's list (UndoStack.push, callers)
        self.sides = [self._codes(change.photo_ids, change.before), self._codes(change.photo_ids, change.after)]

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def _codes(ids, values: dict):
        # (map over C functions: a worker packs 100,000 values without holding the GIL in a Python loop)
        missing = object()
        vals = list(map(values.get, ids, itertools.repeat(missing)))
        distinct = list(dict.fromkeys(vals))
        if len(distinct) == 1:
            return distinct, None, missing
        if len(distinct) > 65535:
            raise OverflowError("too many distinct values to pack")
        index = {v: k for k, v in enumerate(distinct)}
        codes = np.fromiter(map(index.__getitem__, vals), dtype=np.uint16, count=len(vals))
        return distinct, codes, missing

    def _side(self, ids: list, k: int) -> dict:
        distinct, codes, missing = self.sides[k]
        if codes is None:
            return {} if distinct[0] is missing else dict.fromkeys(ids, distinct[0])
        vals = list(map(distinct.__getitem__, codes.tolist()))
        if missing not in distinct:
            return dict(zip(ids, vals))
        return {i: v for i, v in zip(ids, vals) if v is not missing}

    def unpack(self) -> Change:
        ids = self.ids.tolist()
        return Change(self.kind, self.field, ids, self._side(ids, 0), self._side(ids, 1))

    @classmethod
    def of(cls, change: Change):
        """``change`` packed when it is a big change of one of these fields whose values can be packed."""
        if len(change.photo_ids) < cls.PACK_MIN or change.field not in CULLING_FIELDS:
            return change
        try:
            return cls(change)
        except (TypeError, ValueError, OverflowError):  # unhashable values, or more distinct values than codes
            return change


def pack_change(change: Change):
    """What :class:`UndoStack` keeps of ``change`` (packed when big): made on a worker, passed to ``push``."""
    return _PackedChange.of(change)


class UndoStack:
    """Undo/redo of catalog changes (ratings, flags, labels, edits). Big rating/flag/label changes are kept
    packed (:class:`_PackedChange`). :meth:`take_undo` / :meth:`take_redo` with :meth:`settle` let a caller
    apply the change elsewhere (the window writes a big one on a worker) and put it on the other stack
    when it is written, or back where it was when it failed."""

    def __init__(self, catalog: Catalog, limit: int = 500):
        self.catalog = catalog
        self.limit = limit
        self._undo: list = []
        self._redo: list = []
        # field -> function applying a Change of that field, for changes that are not catalog fields
        # (moving files to the trash: core.trash.apply_change)
        self.handlers: dict = {}

    @staticmethod
    def _unpack(entry) -> Change:
        return entry.unpack() if isinstance(entry, _PackedChange) else entry

    def _apply(self, change: Change) -> Change:
        handler = self.handlers.get(change.field)
        return handler(change) if handler is not None else self.catalog.apply_change(change)

    def push(self, change: Change, packed=None) -> Change:
        """``packed``: :func:`pack_change` of ``change`` made elsewhere (a worker), kept instead of packing here."""
        if change.photo_ids and not change.empty:
            self._undo.append(packed if packed is not None else _PackedChange.of(change))
            del self._undo[: -self.limit]
            self._redo.clear()
        return change

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def peek(self, redo: bool = False) -> Optional[tuple[str, int]]:
        """(field, number of photos) of the change that undo (redo) would apply next, or None."""
        stack = self._redo if redo else self._undo
        return (stack[-1].field, len(stack[-1].photo_ids)) if stack else None

    def take_undo(self, packed: bool = False):
        """The change to undo, taken off the stack: the caller writes ``change.inverse()``, then
        ``settle(change, undone=True, ok=...)``. ``packed``: as kept (:meth:`unpack` gives the Change, on
        any thread)."""
        if not self._undo:
            return None
        entry = self._undo.pop()
        return entry if packed else self._unpack(entry)

    def take_redo(self, packed: bool = False):
        """The change to redo, taken off the stack: the caller writes it, then ``settle(change, undone=False, ok=...)``."""
        if not self._redo:
            return None
        entry = self._redo.pop()
        return entry if packed else self._unpack(entry)

    unpack = _unpack

    def settle(self, change: Change, undone: bool, ok: bool = True, packed=None) -> None:
        """After :meth:`take_undo` (``undone``) or :meth:`take_redo`: written (``ok``) puts the change on the
        other stack, failed puts it back on its own (``packed``: as in :meth:`push`)."""
        to = (self._redo if ok else self._undo) if undone else (self._undo if ok else self._redo)
        to.append(packed if packed is not None else _PackedChange.of(change))

    def undo(self) -> Optional[Change]:
        change = self.take_undo()
        if change is None:
            return None
        try:
            applied = self._apply(change.inverse())
        except BaseException:
            self.settle(change, undone=True, ok=False)
            raise
        self.settle(change, undone=True)
        return applied

    def redo(self) -> Optional[Change]:
        change = self.take_redo()
        if change is None:
            return None
        try:
            applied = self._apply(change)
        except BaseException:
            self.settle(change, undone=False, ok=False)
            raise
        self.settle(change, undone=False)
        return applied


def _split_sql(script: str) -> Iterator[str]:
    for stmt in script.split(";"):
        if stmt.strip():
            yield stmt


# ------------------------------------------------------------------ closed-cleanly marker
def _file_state(path: Path) -> Optional[list]:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".closed")


def _catalog_state(path: Path) -> dict:
    return {"db": _file_state(path), "wal": _file_state(Path(str(path) + "-wal"))}


def write_clean_marker(path: os.PathLike | str) -> None:
    """Record the catalog files as PIAA left them on a clean close (best effort; never raises)."""
    path = Path(path)
    try:
        state = _catalog_state(path)
        if state["db"] is None:
            return
        tmp = _marker(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, _marker(path))
    except OSError:
        pass


def unchanged_since_clean_close(path: os.PathLike | str) -> bool:
    """True when the catalog files are exactly as a clean close by PIAA left them: nothing (no crash,
    no other program, no bad copy) touched them since, so an integrity check can be skipped."""
    path = Path(path)
    try:
        recorded = json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return False
    return recorded == _catalog_state(path) and recorded.get("db") is not None


def open_catalog(paths) -> Catalog:
    """Open the catalog of an :class:`~piaa_desktop.core.paths.AppPaths`."""
    paths.ensure()
    return Catalog.open(paths.catalog, backup_dir=paths.backups)

