"""What every ``piaa`` command shares: exit codes, the error that carries one, the progress bar and
the one way to open the catalog (with XMP sidecars written after every rating/flag/label change).

Exit codes: 0 success, 1 failure, 2 bad usage, 3 a named photo or folder was not found, 130 interrupted.
A command raises :class:`CliError` (message + code); :func:`piaa_desktop.cli.main.main` prints it.
"""
from __future__ import annotations

import sqlite3
import sys

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAIL):
        super().__init__(message)
        self.code = code


class ProgressBar:
    """A progress callback drawing a bar on stderr (a line per 10 % when stderr is not a terminal)."""

    def __init__(self, enabled: bool = True, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = -1
        self._last_msg = ""

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self.enabled:
            return
        if total <= 0:
            if message != self._last_msg and not self.tty:
                print(message, file=self.stream, flush=True)
            self._last_msg = message
            return
        frac = min(1.0, done / total)
        if self.tty:
            width = 30
            fill = int(frac * width)
            self.stream.write(f"\r{message[:40]:<40} [{'#' * fill}{'.' * (width - fill)}] {done}/{total}")
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
        else:
            step = int(frac * 10)
            if step != self._last or message != self._last_msg:
                print(f"{message}: {done}/{total}", file=self.stream, flush=True)
                self._last = step
        self._last_msg = message


def _paths(args):
    from piaa_desktop.core.paths import app_paths

    return app_paths(args.data_dir).ensure()


def open_catalog_for(args):
    """The catalog of the chosen data dir, with XMP sidecars written after every rating/flag/label change."""
    from piaa_desktop.core.catalog import CatalogError, open_catalog, unchanged_since_clean_close
    from piaa_desktop.core.recovery import check_catalog
    from piaa_desktop.core.settings import load_settings
    from piaa_desktop.core.sync import install_sidecar_hook

    paths = _paths(args)
    checked = not unchanged_since_clean_close(paths.catalog)
    try:
        cat = open_catalog(paths)
    except CatalogError as exc:
        raise CliError(str(exc)) from exc
    if checked:
        # Like the app at start: a catalog changed since PIAA last closed it cleanly (a crash, another
        # program, a copy) is checked before use; damaged indexes are rebuilt, other damage stops here.
        report = check_catalog(cat, paths, mode="quick")
        if report.ok:
            for msg in report:
                print(f"piaa: warning: {msg}", file=sys.stderr)
        else:
            cat.close()
            raise CliError(" ".join(report) + " Open the app to see what can still be read.")
    cat.sidecars = install_sidecar_hook(cat, load_settings(paths))
    cat.sidecars.quiet = True  # _report_sidecar_errors prints them, once
    if checked:
        # sidecars a killed app left pending (marked in the catalog with their change) are written now
        try:
            cat.sidecars.writer.queue_left_pending()
        except (CatalogError, sqlite3.Error) as exc:  # a read-only catalog: the app writes them later
            print(f"piaa: warning: pending XMP sidecars not written: {exc}", file=sys.stderr)
    return cat


def _report_sidecar_errors(cat) -> None:
    for path, reason in cat.sidecars.errors:
        print(f"piaa: warning: XMP sidecar of {path} not written: {reason}", file=sys.stderr)
