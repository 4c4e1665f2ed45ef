"""Entry point of the bundled ``piaa`` command-line tool (PyInstaller): piaa_desktop.cli.main:main."""
from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    multiprocessing.freeze_support()
    try:
        from piaa_desktop.cli.main import main as cli_main
    except ImportError as exc:
        print(f"piaa cannot start: {exc}", file=sys.stderr)
        return 2
    return int(cli_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
