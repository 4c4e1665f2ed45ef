"""Entry point of the desktop app: ``piaa-desktop [--data-dir DIR] [--version] [FOLDER]``.

The window is shown first; the import of ``FOLDER`` (or the first-run welcome) starts from the event
loop right after, so the user sees the app at once. Nothing here imports torch.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from piaa_desktop import APP_ID, APP_NAME, __version__


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="piaa-desktop", description=f"{APP_NAME}: a photo manager that learns your taste.")
    p.add_argument("--data-dir", metavar="DIR", help="keep the catalog, caches and settings under DIR (a sandbox)")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("--no-welcome", action="store_true", help="do not show the first-run welcome")
    p.add_argument("folder", nargs="?", help="a folder of photos to import at start")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, qt_args = build_parser().parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if args.version:
        print(f"{APP_NAME} {__version__}")
        return 0

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from piaa_desktop.core.catalog import CatalogError
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.settings import load_settings

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_ID, *qt_args])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName(APP_ID)

    paths = app_paths(args.data_dir)
    paths.ensure()
    # One app per library: a second one is refused with a clear message (the CLI may still run).
    from piaa_desktop.core.instance import AlreadyRunning, InstanceLock

    lock = InstanceLock(paths)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        QMessageBox.warning(None, APP_NAME, str(exc))
        return 1
    except OSError as exc:
        print(f"warning: cannot lock the library ({exc}); continuing", file=sys.stderr)
    settings = load_settings(paths)
    try:
        from piaa_desktop.gui.theme import app_icon, apply_theme

        theme = settings.get("theme")
        apply_theme(app, theme if theme in ("dark", "light") else "dark")
        app.setWindowIcon(app_icon())
    except Exception as exc:  # noqa: BLE001 - a broken theme must not stop the app
        print(f"warning: theme not applied: {exc}", file=sys.stderr)

    from piaa_desktop.gui.main_window import MainWindow

    try:
        window = MainWindow(paths, settings=settings)
    except (CatalogError, OSError) as exc:
        QMessageBox.critical(None, APP_NAME, f"Cannot open the catalog:\n{exc}")
        lock.release()
        return 2
    window.show()

    def after_recovery() -> None:
        if args.folder:
            if not settings.get("first_run_done"):
                settings.set("first_run_done", True)
                window.save_settings()
            window.features.importing.import_folder(args.folder)
        elif not args.no_welcome:
            window.features.importing.maybe_show_welcome()

    QTimer.singleShot(0, lambda: window.features.importing.run_startup_checks(then=after_recovery))
    try:
        return app.exec()
    finally:
        if not window.is_closed:
            window.close()  # an app quit without the window's close (the session ending): pending sidecars written
        lock.release()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
