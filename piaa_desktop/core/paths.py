"""Where PIAA Desktop keeps its files.

By default everything lives under the platformdirs user data dir (``~/.local/share/piaa-desktop`` on
Linux, ``%LOCALAPPDATA%\\piaa-desktop`` on Windows, ``~/Library/Application Support/piaa-desktop`` on
macOS). A *sandbox* data dir (``--data-dir DIR`` on the command line, or ``PIAA_DATA_DIR`` in the
environment) puts the catalog, the caches, the settings and the personal models under one folder:
tests use it so they never touch a real user's files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import platformdirs

from piaa_desktop import APP_ID

ENV_DATA_DIR = "PIAA_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path
    cache_dir: Path
    config_dir: Path

    @property
    def catalog(self) -> Path:
        return self.data_dir / "catalog.sqlite3"

    @property
    def backups(self) -> Path:
        return self.data_dir / "backups"

    @property
    def thumbnails(self) -> Path:
        return self.cache_dir / "thumbnails"

    @property
    def personal_models(self) -> Path:
        return self.data_dir / "personal"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "catalog.lock"

    def ensure(self) -> "AppPaths":
        for d in (self.data_dir, self.cache_dir, self.config_dir, self.thumbnails):
            d.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(data_dir: Optional[os.PathLike | str] = None) -> AppPaths:
    """Paths for this run: the sandbox ``data_dir`` if given (or ``$PIAA_DATA_DIR``), else platformdirs."""
    chosen = data_dir or os.environ.get(ENV_DATA_DIR)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return AppPaths(data_dir=root, cache_dir=root / "cache", config_dir=root / "config")
    return AppPaths(
        data_dir=Path(platformdirs.user_data_dir(APP_ID, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_ID, appauthor=False)),
        config_dir=Path(platformdirs.user_config_dir(APP_ID, appauthor=False)),
    )


def models_dir() -> Path:
    """The folder of shipped models (``models/`` in a source checkout, bundled next to the app when frozen)."""
    env = os.environ.get("PIAA_MODELS_DIR")
    if env:
        return Path(env)
    import sys

    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "models"
    return REPO_ROOT / "models"


def resources_dir() -> Path:
    import sys

    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return REPO_ROOT / "resources"
