"""Image embeddings with the shipped backbone (its spec: :mod:`piaa_desktop.core.backbones`) through
onnxruntime.

Embeddings are computed once per photo content (from the cached thumbnail) and stored in the catalog,
so scoring, personalisation, stacks and ranking never decode an image again.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
from PIL import Image

from piaa_desktop.core import backbones
from piaa_desktop.core.jobs import CancelToken, ProgressCallback, ensure

SPEC = backbones.get()  # the backbone the app uses
BACKBONE = SPEC.name
INPUT_SIZE = SPEC.input_size
EMBED_DIM = SPEC.embed_dim


def preprocess(
    images: Sequence[np.ndarray | Image.Image], size: Optional[int] = None, spec: backbones.BackboneSpec = SPEC
) -> np.ndarray:
    """RGB images -> NCHW float32 at the spec's input size, normalised as the spec says
    (EfficientNet-Lite: (x - 127) / 128).

    The whole frame is resized (not centre-cropped) so composition stays visible to the aesthetic heads.
    """
    size = size or spec.input_size
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    out = np.empty((len(images), 3, size, size), dtype=np.float32)
    for i, im in enumerate(images):
        if not isinstance(im, Image.Image):
            im = Image.fromarray(np.asarray(im, dtype=np.uint8))
        im = im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.float32)
        out[i] = ((a - mean) / std).transpose(2, 0, 1)
    return out


def model_key(name: str, sha256: str) -> str:
    """How embeddings are keyed in the catalog: the model's name and the hash of its file, so vectors
    of another (or a broken) backbone never pass for the current one's."""
    return f"{name}@{sha256[:16]}"


def embedding_key() -> str:
    """The catalog key of the current backbone's embeddings (``ModelError`` if it is missing/damaged).

    Readers of embeddings (scoring, personal model, stacks) use this, never the bare model name.
    """
    inst = Backbone._instance
    if inst is not None:
        return inst.key
    from piaa_desktop.core.models import model_sha256

    return model_key(BACKBONE, model_sha256(BACKBONE))


class Backbone:
    """Lazily created onnxruntime session over the verified backbone model (thread-safe run)."""

    _instance: Optional["Backbone"] = None
    _lock = threading.Lock()

    def __init__(self, path: Optional[Path] = None, threads: Optional[int] = None):
        import onnxruntime as ort

        from piaa_desktop.core.models import model_path, model_sha256, ort_session_options, sha256_file

        self.path = Path(path) if path else model_path(BACKBONE)
        self.key = model_key(BACKBONE, sha256_file(self.path) if path else model_sha256(BACKBONE))
        so = ort_session_options(threads or max(1, min(os.cpu_count() or 1, 8)))
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        self.session = ort.InferenceSession(str(self.path), so, providers=providers)
        self.name = BACKBONE

    @classmethod
    def shared(cls) -> "Backbone":
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3, S, S) -> (embeddings (N, EMBED_DIM), logits (N, classes)); S = the spec's input size.

        A model whose output is not (N, EMBED_DIM) finite numbers raises ``ModelError``: nothing it
        computed may reach the catalog.
        """
        from piaa_desktop.core.models import ModelError

        try:
            emb, logits = self.session.run(list(SPEC.outputs[:2]), {SPEC.input_name: batch})
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a bad graph
            raise ModelError(f"backbone model {self.path.name} cannot run: {exc}") from exc
        emb = np.asarray(emb)
        n = len(batch)
        if emb.shape != (n, EMBED_DIM):
            raise ModelError(
                f"backbone model {self.path.name} returned embeddings of shape {tuple(emb.shape)}, expected "
                f"({n}, {EMBED_DIM}): it is not the right model; no embedding was stored"
            )
        emb = emb.astype(np.float32)
        if not np.isfinite(emb).all():
            raise ModelError(f"backbone model {self.path.name} returned non-finite embeddings; none was stored")
        return emb, np.asarray(logits).astype(np.float32)

    def embed(self, images: Sequence[np.ndarray | Image.Image], batch_size: int = 32) -> np.ndarray:
        out = []
        for i in range(0, len(images), batch_size):
            out.append(self.run(preprocess(images[i : i + batch_size]))[0])
        return np.concatenate(out) if out else np.zeros((0, EMBED_DIM), np.float32)


def embed_paths(
    paths: Sequence[os.PathLike | str],
    batch_size: int = 32,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    max_size: int = 512,
) -> tuple[np.ndarray, list[int]]:
    """Embed image files directly (for benchmarks and training over folders).

    Returns (embeddings of the decodable files, indices into ``paths`` of those files).
    """
    from piaa_desktop.core.imageio import ImageError, load_rgb

    progress, cancel = ensure(progress, cancel)
    bb = Backbone.shared()
    embs, ok = [], []
    for i in range(0, len(paths), batch_size):
        cancel.raise_if_cancelled()
        ims, idx = [], []
        for j, p in enumerate(paths[i : i + batch_size]):
            try:
                ims.append(load_rgb(p, max_size=max_size))
                idx.append(i + j)
            except ImageError:
                continue
        if ims:
            embs.append(bb.embed(ims, batch_size))
            ok.extend(idx)
        progress(min(i + batch_size, len(paths)), len(paths), "embedding")
    return (np.concatenate(embs) if embs else np.zeros((0, EMBED_DIM), np.float32)), ok


EMBEDDING_STAGE = "Computing embeddings"  # the progress message of extract_embeddings (photos done, to do)


def extract_embeddings(
    catalog,
    cache_dir: os.PathLike | str,
    batch_size: int = 32,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    loader: Optional[Callable[[str, str], np.ndarray]] = None,
) -> int:
    """Compute and cache embeddings for every photo that has none for the current content.

    Images come from the thumbnail cache (decoding the original only when the thumbnail is gone).
    Each batch is committed on its own, so a cancelled or killed run keeps what it finished.
    Returns the number of photos embedded.
    """
    from piaa_desktop.core.imageio import ImageError
    from piaa_desktop.core.thumbnails import thumbnail_array

    progress, cancel = ensure(progress, cancel)
    # the key checks the model file; the session is created only when there is something to embed (a rescan
    # with nothing new, or the app's start-up check for a new backbone, never loads it)
    todo = catalog.photos_needing_embeddings(embedding_key())
    if not todo:
        return 0
    bb = Backbone.shared()
    load = loader or (lambda path, h: thumbnail_array(path, h, cache_dir))
    done = 0
    for i in range(0, len(todo), batch_size):
        cancel.raise_if_cancelled()
        chunk = todo[i : i + batch_size]
        ims, rows = [], []
        for pid, path, h in chunk:
            try:
                ims.append(load(path, h))
                rows.append((pid, h))
            except ImageError as exc:
                catalog.record_import_error(path, None, str(exc))
        if ims:
            emb = bb.embed(ims, batch_size)
            catalog.set_embeddings([(pid, bb.key, h, v) for (pid, h), v in zip(rows, emb)])
            # the generic taste model's column and the personal heads' feature rows of these photos, stored once
            # now: re-scoring reads them and never touches the embeddings
            from piaa_desktop.core.personal.operations import store_generic_columns

            store_generic_columns(catalog, [pid for pid, _ in rows], emb, bb.key, hashes=[h for _, h in rows])
            done += len(rows)
        progress(min(i + batch_size, len(todo)), len(todo), EMBEDDING_STAGE)
    return done
