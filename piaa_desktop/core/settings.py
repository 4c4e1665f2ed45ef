"""One typed registry of user settings, saved as JSON at ``AppPaths.settings_file``.

Every setting of the app, GUI ones included, is declared once, in the list below (name, type, default,
doc, optional choices or range), so any process (the CLI too) knows and validates all of them; the GUI's
preferences dialog and the CLI can list :data:`REGISTRY`. A new setting: one ``Setting(...)`` line in
that list (a test checks that every name the code reads is declared here and nowhere else). Values are
validated only by :meth:`Setting.validate` (on load and on ``Settings.set``).

Loading never fails: a missing file gives the defaults; a value of the wrong type or out of range is
replaced by its default with a warning; a corrupt file is kept aside as ``settings.json.corrupt-<time>``
and the defaults are used. Keys this version does not know are ignored with a warning but written back
unchanged (a newer version's settings survive a round trip through an older one). Saving is atomic.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from piaa_desktop.core import backbones
from piaa_desktop.core.fsutil import atomic_write

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    doc: str = ""
    choices: Optional[Sequence[Any]] = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None

    def validate(self, value: Any) -> Any:
        """The value converted to this setting's type, or ``ValueError`` saying why it is not valid."""
        t = self.type
        if t is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} must be true or false, not {value!r}")
        elif t is int:
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ValueError(f"{self.name} must be a whole number, not {value!r}")
        elif t is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{self.name} must be a number, not {value!r}")
            value = float(value)
        elif t is str:
            if not isinstance(value, str):
                raise ValueError(f"{self.name} must be text, not {value!r}")
        elif t is list:
            if not isinstance(value, list):
                raise ValueError(f"{self.name} must be a list, not {value!r}")
        elif t is dict:
            if not isinstance(value, dict):
                raise ValueError(f"{self.name} must be a mapping, not {value!r}")
        elif not isinstance(value, t):
            raise ValueError(f"{self.name} must be {t.__name__}, not {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{self.name} must be at least {self.minimum}, not {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{self.name} must be at most {self.maximum}, not {value!r}")
        return value


REGISTRY: dict[str, Setting] = {}


def register(setting: Setting) -> Setting:
    """Declare a setting (re-registering the same name with the same definition is harmless)."""
    old = REGISTRY.get(setting.name)
    if old is not None and old != setting:
        raise ValueError(f"setting {setting.name!r} is already registered differently")
    setting.validate(setting.default)
    REGISTRY[setting.name] = setting
    return setting


from piaa_desktop.core.library import GRID_SORTS as _GRID_SORTS  # noqa: E402

for _s in (
    # interface
    Setting("theme", str, "dark", "Colour theme of the interface", choices=("dark", "light", "system")),
    Setting("thumbnail_size", int, 256, "Edge of grid thumbnails in pixels", minimum=64, maximum=1024),
    Setting("first_run_done", bool, False, "The welcome tour was shown"),
    Setting("last_library", str, "", "Folder shown when the app last closed"),
    Setting("grid_sort", str, "capture_time", "Sort order of the grid", choices=_GRID_SORTS),
    Setting("grid_show_scores", bool, True, "Show the score badge on thumbnails"),
    Setting("grid_compact", bool, False, "Denser grid: small cells, stars on the photo, no file names"),
    Setting("faces_after_import", bool, True, "Find faces and closed eyes after each import (background)"),
    # interoperability
    Setting("xmp_write", bool, True, "Write ratings, picks and colour labels to XMP sidecars next to photos"),
    Setting(
        "xmp_naming", str, "ext",
        "Sidecar name: 'ext' gives photo.jpg.xmp (darktable, digiKam), 'replace' gives photo.xmp (Lightroom)",
        choices=("ext", "replace"),
    ),
    Setting("xmp_read_on_import", bool, True, "Import ratings and labels from existing sidecars"),
    # culling
    Setting("stack_max_gap_s", float, 2.0, "Photos taken at most this many seconds apart can stack",
            minimum=0.0, maximum=600.0),
    Setting("stack_max_dist", float, backbones.get().stack_max_dist,
            "Largest embedding cosine distance inside a stack (default: the backbone's calibrated value)",
            minimum=0.0, maximum=2.0),
    # export
    Setting("export_dir", str, "", "Last export folder"),
    Setting("export_template", str, "{date}_{rank:03d}_{name}", "File name template of exported photos"),
    Setting("export_quality", int, 92, "JPEG quality of exported photos", minimum=1, maximum=100),
    Setting("export_long_edge", int, 0, "Resize exports to this long edge in pixels (0 keeps full size)",
            minimum=0, maximum=100000),
    Setting("export_edits", bool, True, "Apply the photo's edits when exporting"),
    Setting("export_embed_xmp", bool, False, "Write rating and labels into the XMP of exported JPEGs"),
    Setting("export_format", str, "original", "Exported file format", choices=("original", "jpeg", "png", "tiff16")),
    Setting("export_color_space", str, "original", "Colour space of exported photos",
            choices=("original", "srgb", "display-p3", "adobe-rgb")),
    Setting("export_sharpening", str, "none", "Output sharpening of exported photos",
            choices=("none", "screen", "print")),
    Setting("export_presets", dict, {}, "The user's own export presets: name -> options"),
):
    register(_s)


class Settings:
    """The current values (defaults for anything unset). Thread-safe get/set; ``save()`` is atomic."""

    def __init__(self, path: Optional[os.PathLike | str] = None, values: Optional[dict] = None):
        self.path = Path(path) if path else None
        self._values: dict[str, Any] = {}
        self._unknown: dict[str, Any] = {}
        self._lock = threading.RLock()
        self.warnings: list[str] = []
        for k, v in (values or {}).items():
            self.set(k, v)

    # -------------------------------------------------------------------- access
    def get(self, name: str) -> Any:
        s = REGISTRY.get(name)
        if s is None:
            raise KeyError(f"unknown setting {name!r}")
        with self._lock:
            v = self._values.get(name, s.default)
        return list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v

    def set(self, name: str, value: Any) -> None:
        s = REGISTRY.get(name)
        if s is None:
            raise KeyError(f"unknown setting {name!r}")
        value = s.validate(value)
        with self._lock:
            self._values[name] = value

    def reset(self, name: str) -> None:
        with self._lock:
            self._values.pop(name, None)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in REGISTRY:
            raise AttributeError(name)
        return self.get(name)

    def as_dict(self) -> dict[str, Any]:
        return {name: self.get(name) for name in sorted(REGISTRY)}

    # -------------------------------------------------------------------- persistence
    @classmethod
    def load(cls, path: os.PathLike | str) -> "Settings":
        st = cls(path)
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return st
        except OSError as exc:
            st._warn(f"cannot read settings {path}: {exc.strerror or exc}; using defaults")
            return st
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("top level is not an object")
        except ValueError as exc:
            aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(path, aside)
                where = f"kept as {aside.name}"
            except OSError:
                where = "left in place"
            st._warn(f"settings file {path} is corrupt ({exc}); {where}; using defaults")
            return st
        for k, v in data.items():
            if k not in REGISTRY:
                st._unknown[k] = v
                st._warn(f"unknown setting {k!r} ignored (kept in the file)")
                continue
            try:
                st.set(k, v)
            except ValueError as exc:
                st._warn(f"{exc}; using the default {REGISTRY[k].default!r}")
        return st

    def save(self, path: Optional[os.PathLike | str] = None) -> Path:
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("no settings file to save to")
        with self._lock:
            data = dict(self._unknown)
            data.update(self._values)
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        with atomic_write(target, "wb") as fh:
            fh.write(text.encode("utf-8"))
        self.path = target
        return target

    def _warn(self, msg: str) -> None:
        self.warnings.append(msg)
        log.warning(msg)


def load_settings(paths=None) -> Settings:
    """The settings of an :class:`~piaa_desktop.core.paths.AppPaths` (``app_paths()`` when None)."""
    if paths is None:
        from piaa_desktop.core.paths import app_paths

        paths = app_paths()
    return Settings.load(paths.settings_file)
