"""The sample library that ships with the app (public-domain / CC0 photos, see its LICENSES.md).

Headless: no Qt. Works from a source checkout and from a frozen (PyInstaller) app, because the folder
is found through :func:`piaa_desktop.core.paths.resources_dir`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from piaa_desktop.core.paths import resources_dir

SAMPLE_DIRNAME = "sample_library"
LICENSES_FILE = "LICENSES.md"


def sample_library_dir() -> Path:
    """The shipped sample folder (read-only in an installed app: import it, never write into it)."""
    return resources_dir() / SAMPLE_DIRNAME


def sample_photos() -> list[Path]:
    """The sample photos, sorted by name (empty if the folder is missing from a broken install)."""
    d = sample_library_dir()
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def copy_sample_library(dest: Path) -> Path:
    """Copy the sample photos (and their licences) into ``dest/PIAA sample photos`` and return that folder.

    For a user who wants to rate, flag and retouch the samples without touching the install folder
    (which may be read-only). Existing files are kept, never overwritten.
    """
    target = Path(dest) / "PIAA sample photos"
    target.mkdir(parents=True, exist_ok=True)
    src = sample_library_dir()
    for p in sample_photos() + [src / LICENSES_FILE]:
        if p.is_file() and not (target / p.name).exists():
            shutil.copy2(p, target / p.name)
    return target
