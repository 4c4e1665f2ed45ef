"""The models shipped in ``models/`` and their manifest.

``models/manifest.json`` lists every shipped file with its sha256, how it was produced (the exact
command), on what data, and its measured metric. :func:`verify_models` checks them at start-up: a
missing, truncated or tampered file is reported with a clear message, and the features that need it
are switched off while the app keeps working with what it has.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from piaa_desktop.core.fsutil import hash_file
from piaa_desktop.core.paths import models_dir

MANIFEST = "manifest.json"


class ModelError(RuntimeError):
    """A shipped model that is missing or does not match its manifest."""


@dataclass
class ModelStatus:
    name: str
    file: str
    ok: bool
    problem: str = ""


def ort_session_options(threads: int, inter_threads: Optional[int] = 1):
    """onnxruntime session options for the app's models: ``threads`` intra-op threads that sleep when idle.

    onnxruntime's threads spin (busy-wait) between operators and between runs by default: on a desktop
    that shares its cores with the GUI, decoding and other jobs that burns CPU for nothing. Measured on
    this 2-core machine under load (8 photos): the faces models take 0.4-0.6 s of CPU instead of 1.0-1.4 s
    and the backbone half the CPU, with the same or a shorter wall time."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, int(threads))
    if inter_threads is not None:
        so.inter_op_num_threads = inter_threads
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return so


def sha256_file(path: os.PathLike | str) -> str:
    return hash_file(path, hashlib.sha256())


def load_manifest(directory: Optional[Path] = None) -> dict:
    directory = directory or models_dir()
    try:
        with open(directory / MANIFEST, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {"models": {}}
    except (OSError, ValueError) as exc:
        raise ModelError(f"models manifest {directory / MANIFEST} is unreadable: {exc}") from exc
    data.setdefault("models", {})
    return data


_verified: dict[tuple[str, str], ModelStatus] = {}


def check_model(name: str, directory: Optional[Path] = None, use_cache: bool = True) -> ModelStatus:
    directory = directory or models_dir()
    manifest = load_manifest(directory)
    entry = manifest["models"].get(name)
    if entry is None:
        return ModelStatus(name, "", False, f"model '{name}' is not listed in {directory / MANIFEST}")
    path = directory / entry["file"]
    key = (str(path), entry.get("sha256", ""))
    if use_cache and key in _verified:
        return _verified[key]
    if not path.exists():
        st = ModelStatus(name, entry["file"], False, f"model file {path} is missing")
    else:
        digest = sha256_file(path)
        if digest != entry.get("sha256"):
            st = ModelStatus(
                name,
                entry["file"],
                False,
                f"model file {path} is damaged or was modified (sha256 {digest[:12]}... does not match the manifest)",
            )
        else:
            st = ModelStatus(name, entry["file"], True)
    _verified[key] = st
    return st


def verify_models(directory: Optional[Path] = None) -> list[ModelStatus]:
    """Check every model in the manifest; returns one status per model (call at start-up)."""
    directory = directory or models_dir()
    return [check_model(n, directory, use_cache=False) for n in load_manifest(directory)["models"]]


def model_path(name: str, directory: Optional[Path] = None) -> Path:
    """Path of a verified model, or :class:`ModelError` saying what is wrong with it."""
    st = check_model(name, directory)
    if not st.ok:
        raise ModelError(st.problem)
    return (directory or models_dir()) / st.file


def model_sha256(name: str, directory: Optional[Path] = None) -> str:
    """The sha256 of a verified model file (it matches the manifest), or :class:`ModelError`."""
    st = check_model(name, directory)
    if not st.ok:
        raise ModelError(st.problem)
    return str(load_manifest(directory or models_dir())["models"][name]["sha256"])


def update_manifest_entry(name: str, entry: dict, directory: Optional[Path] = None) -> None:
    """Write ``entry`` (with a fresh sha256 of its file) into the manifest: used by the training scripts."""
    from piaa_desktop.core.fsutil import atomic_write

    directory = directory or models_dir()
    manifest = load_manifest(directory)
    entry = dict(entry)
    entry["sha256"] = sha256_file(directory / entry["file"])
    entry["bytes"] = (directory / entry["file"]).stat().st_size
    manifest["models"][name] = entry
    with atomic_write(directory / MANIFEST, "w") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")
    _verified.clear()
