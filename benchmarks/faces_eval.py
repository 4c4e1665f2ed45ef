"""Closed-eye detection on labelled real photos, and the faces pass's speed.

The labels (``benchmarks/data/faces_eyes_labels.csv``: photo file name, face box, open / closed / unsure /
not_face) were made by eye from contact sheets of the detector's face crops on BSDS500 and PARA photos
(``../shared/data``; the photos are not in the repository). A labelled face is matched to a detection of the
current pipeline by IoU >= 0.5.

Split: photos are assigned to a calibration half or a test half by a hash of the file name (PARA: of its
session, so a session's near-duplicates never straddle the halves). The blink threshold is chosen on the
calibration half only (best F1 of closed eyes, the middle of the best plateau) and precision / recall (closed
eyes = positive class) are reported on the test half, for faces >= 80 px (the shorter box side) and for all
labelled faces (>= 40 px). "unsure" faces (downcast eyes, squints, sunglasses, blur) are left out.

    python benchmarks/faces_eval.py --json              # needs ../shared/data; writes RESULTS.md
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELS = Path(__file__).resolve().parent / "data" / "faces_eyes_labels.csv"
DATA = ROOT.parent / "shared" / "data"
SOURCES = {"bsds500": DATA / "bsds500", "para": DATA / "para" / "images"}
FIVEK_DIRS = (DATA / "fivek_expert_c" / "input", DATA / "fivek_experts_a_to_e")


def photo_path(source: str, name: str) -> Path:
    if source == "fivek":
        return next((d / name for d in FIVEK_DIRS if (d / name).exists()), FIVEK_DIRS[0] / name)
    return SOURCES[source] / name


def iou(a, b) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    ix = max(0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    iy = max(0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = ix * iy
    return inter / max(1e-9, aw * ah + bw * bh - inter)


def para_sessions() -> dict[str, str]:
    p = DATA / "para" / "scores.csv"
    if not p.exists():
        return {}
    with open(p, newline="") as fh:
        return {r["image"]: r["session"] for r in csv.DictReader(fh)}


def split_of(source: str, name: str, sessions: dict[str, str]) -> str:
    key = sessions.get(name, name) if source == "para" else name
    return "calibration" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 == 0 else "test"


def load_labels() -> list[dict]:
    with open(LABELS, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["box"] = [int(v) for v in r["box"].split()]
    return rows


def run_pipeline(rows: list[dict]) -> list[dict]:
    """Attach the current pipeline's blink / EAR / sharpness to each labelled face (None when not matched)."""
    from piaa_desktop.core import faces as F

    an = F.FaceAnalyzer()
    by_photo: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by_photo.setdefault((r["source"], r["file"]), []).append(r)
    for (source, name), faces in by_photo.items():
        found = an.analyze_path(photo_path(source, name))
        for r in faces:
            best = max(found, key=lambda f: iou(f.box, r["box"]), default=None)
            if best is not None and iou(best.box, r["box"]) >= 0.5:
                r.update(found=True, blink=best.blink, ear=best.ear, sharpness=best.sharpness)
            else:
                r.update(found=False, blink=None, ear=None, sharpness=None)
    return rows


def pr(faces: list[dict], thr: float, key: str = "blink", closed_above: bool = True) -> dict:
    tp = fp = fn = tn = 0
    for f in faces:
        v = f[key]
        pred = (v >= thr) if closed_above else (v <= thr)
        pos = f["label"] == "closed"
        tp += pred and pos
        fp += pred and not pos
        fn += (not pred) and pos
        tn += (not pred) and not pos
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    return {"n": len(faces), "closed": tp + fn, "open": fp + tn, "tp": tp, "fp": fp, "fn": fn,
            "precision": round(prec, 3), "recall": round(rec, 3)}


def choose_threshold(faces: list[dict], key: str = "blink", closed_above: bool = True) -> float:
    """Best F1 on these faces; the middle of the plateau of equally good thresholds."""
    vals = sorted({round(f[key], 4) for f in faces})
    cands = [(a + b) / 2 for a, b in zip(vals, vals[1:])]

    def f1(t):
        m = pr(faces, t, key, closed_above)
        p, r = m["precision"], m["recall"]
        return 0.0 if not (p == p and r == r) or p + r == 0 else 2 * p * r / (p + r)

    scores = [f1(t) for t in cands]
    best = max(scores)
    plateau = [t for t, s in zip(cands, scores) if s >= best - 1e-9]
    return float(np.median(plateau))


def speed(n: int = 20) -> dict:
    """Faces pass per photo on CPU: BSDS500 photos as they are (481x321) and upscaled to 12 MP (in memory)."""
    from PIL import Image

    from piaa_desktop.core import faces as F

    an = F.FaceAnalyzer()
    paths = sorted(SOURCES["bsds500"].glob("*.jpg"))[:n]
    an.analyze_path(paths[0])  # warm-up
    t = time.perf_counter()
    nf = 0
    for p in paths:
        nf += len(an.analyze_path(p))
    small = (time.perf_counter() - t) / len(paths)
    t_load = t_an = 0.0
    for p in paths[: max(3, n // 4)]:
        t0 = time.perf_counter()
        im = Image.open(p).convert("RGB").resize((4000, 3000), Image.BILINEAR)
        rgb = np.asarray(im)
        t1 = time.perf_counter()
        an.analyze(rgb)
        t_an += time.perf_counter() - t1
        t_load += t1 - t0
    k = max(3, n // 4)
    return {"photos": len(paths), "faces": nf, "ms_per_photo_481x321": round(small * 1000, 1),
            "ms_per_photo_12mp_analysis": round(t_an / k * 1000, 1)}


def soft_faces(rows: list[dict]) -> dict:
    """Soft-face check: every real labelled face of at least 48 px (open, closed or unsure) as it is, and the
    same photo blurred (Gaussian, radius 1.5 px per 128 px of face, at least 1 px: a focus miss that shows at
    screen size). The threshold is the best balanced accuracy between the two on one half, tested on the other."""
    from PIL import Image, ImageFilter

    from piaa_desktop.core import faces as F

    pairs = []
    for r in rows:
        if r["label"] == "not_face" or r["size"] < F.BADGE_MIN_FACE_PX:
            continue
        im = Image.open(photo_path(r["source"], r["file"])).convert("RGB")
        rad = max(1.0, 1.5 * r["size"] / 128)
        pairs.append((r["split"], r["size"], F.face_sharpness(np.asarray(im), r["box"]),
                      F.face_sharpness(np.asarray(im.filter(ImageFilter.GaussianBlur(rad))), r["box"])))

    def best(ps):
        cands = np.linspace(0.05, 0.95, 181)
        acc = [np.mean([o >= t for _h, _s, o, _b in ps]) + np.mean([b < t for _h, _s, _o, b in ps]) for t in cands]
        return float(cands[int(np.argmax(acc))])

    def rates(ps, t):
        return {"faces": len(ps), "sharp_flagged_soft": round(float(np.mean([o < t for _h, _s, o, _b in ps])), 3),
                "blurred_flagged_soft": round(float(np.mean([b < t for _h, _s, _o, b in ps])), 3)}

    out = {"folds": []}
    for a, b in (("calibration", "test"), ("test", "calibration")):
        t = best([p for p in pairs if p[0] == a])
        out["folds"].append({"threshold": round(t, 3), **rates([p for p in pairs if p[0] == b], t)})
    out["threshold_all"] = round(best(pairs), 3)
    out["shipped"] = {"threshold": F.SOFT_THRESHOLD, "all": rates(pairs, F.SOFT_THRESHOLD),
                      "ge80": rates([p for p in pairs if p[1] >= 80], F.SOFT_THRESHOLD)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print only JSON on stdout")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    ap.add_argument("--speed-photos", type=int, default=20)
    args = ap.parse_args(argv)
    if not all(p.exists() for p in SOURCES.values()):
        print(json.dumps({"skipped": f"data not found under {DATA}"}))
        return 0
    from piaa_desktop.core import faces as F

    sessions = para_sessions()
    rows = run_pipeline(load_labels())
    for r in rows:
        r["split"] = split_of(r["source"], r["file"], sessions)
        r["size"] = min(r["box"][2], r["box"][3])
        if not r["found"]:  # the pipeline does not report this face (detector or face-presence check): not flagged
            r["blink"], r["ear"] = 0.0, 1.0
    labelled = [r for r in rows if r["label"] in ("open", "closed")]
    halves = {h: [r for r in labelled if r["split"] == h] for h in ("calibration", "test")}
    ge80 = lambda fs: [r for r in fs if r["size"] >= 80]  # noqa: E731

    def pooled(ms):
        tp, fp, fn = (sum(m[k] for m in ms) for k in ("tp", "fp", "fn"))
        out = {"n": sum(m["n"] for m in ms), "closed": tp + fn, "open": sum(m["open"] for m in ms),
               "tp": tp, "fp": fp, "fn": fn}
        out["precision"] = round(tp / (tp + fp), 3) if tp + fp else float("nan")
        out["recall"] = round(tp / (tp + fn), 3) if tp + fn else float("nan")
        return out

    folds = []
    for cal_name, test_name in (("calibration", "test"), ("test", "calibration")):
        cal, test = halves[cal_name], halves[test_name]
        # calibrated on the faces the app badges (>= BADGE_MIN_FACE_PX): the threshold decides nothing for smaller ones
        cal_fit = [r for r in cal if r["found"] and r["size"] >= F.BADGE_MIN_FACE_PX]
        thr = choose_threshold(cal_fit)
        ear_thr = choose_threshold(cal_fit, "ear", closed_above=False)
        folds.append({
            "calibrate_on": cal_name, "threshold": round(thr, 3), "test_all": pr(test, thr),
            "test_ge80": pr(ge80(test), thr), "ear_threshold": round(ear_thr, 3),
            "ear_test_all": pr(test, ear_thr, "ear", False), "ear_test_ge80": pr(ge80(test), ear_thr, "ear", False),
        })
    final_thr = choose_threshold([r for r in labelled if r["found"] and r["size"] >= F.BADGE_MIN_FACE_PX])
    res = {
        "labels": {k: sum(1 for r in rows if r["label"] == k) for k in ("open", "closed", "unsure", "not_face")},
        "photos": len({(r["source"], r["file"]) for r in rows}),
        "matched": f"{sum(r['found'] for r in labelled)} of {len(labelled)} open/closed faces reported by the current "
                   "pipeline (the others count as not flagged)",
        "not_faces_kept": sum(1 for r in rows if r["label"] == "not_face" and r["found"]),
        "not_faces": sum(1 for r in rows if r["label"] == "not_face"),
        "folds": folds,
        "cross_validated": {
            "ge80": pooled([f["test_ge80"] for f in folds]),
            "all": pooled([f["test_all"] for f in folds]),
            "ear_ge80": pooled([f["ear_test_ge80"] for f in folds]),
            "ear_all": pooled([f["ear_test_all"] for f in folds]),
        },
        "threshold_all_labels": round(final_thr, 3),
        "threshold_shipped": F.BLINK_THRESHOLD,
        "shipped_on_all_labels": {"ge80": pr(ge80(labelled), F.BLINK_THRESHOLD), "all": pr(labelled, F.BLINK_THRESHOLD)},
        "soft_faces": soft_faces(rows),
        "speed": speed(args.speed_photos),
    }
    if args.json:
        print(json.dumps(res))
    else:
        print(json.dumps(res, indent=2))
    if not args.no_write:
        write_results(res)
    return 0


def write_results(res: dict) -> None:
    from benchmarks._results import write_section

    def row(name, m):
        return (f"| {name} | {m['n']} | {m['closed']} | {m['open']} | {m['tp']} | {m['fp']} | {m['fn']} | "
                f"{m['precision']:.3f} | {m['recall']:.3f} |")

    cv, lab, sp, sf = res["cross_validated"], res["labels"], res["speed"], res["soft_faces"]

    def f_soft(f):
        return (f"threshold {f['threshold']} flags {100 * f['sharp_flagged_soft']:.1f} % of the other half's real faces "
                f"and {100 * f['blurred_flagged_soft']:.1f} % of their blurred copies")
    f0, f1 = res["folds"]
    body = f"""
Closed eyes (positive class) on **real photos labelled by eye**: {res['photos']} photos of BSDS500 (481x321), PARA
(224x224, squashed) and MIT-Adobe FiveK (../shared/data) in which the detector found a face of at least 40 px; every
such face was labelled from numbered contact sheets of the crops: {lab['open']} open, {lab['closed']} closed,
{lab['unsure']} unsure (downcast eyes, squints, sunglasses, blur, profiles: left out), {lab['not_face']} not a face
(statues, animals, food). Labels: `benchmarks/data/faces_eyes_labels.csv` (file name + box + label, no photos).
{res['matched']}.

Protocol: photos split in two halves by a hash of the file name (PARA: of its session). The blink threshold (blink =
mean of MediaPipe's eyeBlinkLeft/Right) is chosen on one half (best F1, middle of the plateau, on the faces the app
badges, >= 48 px) and tested on the other, both ways; the table pools the two test halves, so every labelled face
is scored once by a threshold that did not see it (fold thresholds {f0['threshold']} and {f1['threshold']}). The
shipped `BLINK_THRESHOLD = {res['threshold_shipped']}` is the same rule on all labels ({res['threshold_all_labels']}).

| closed-eye detection, 2-fold cross-validated | faces | closed | open | TP | FP | FN | precision | recall |
|---|---|---|---|---|---|---|---|---|
{row('**faces >= 80 px**', cv['ge80'])}
{row('all labelled faces (>= 40 px)', cv['all'])}
{row('eye aspect ratio instead (cross-check), >= 80 px', cv['ear_ge80'])}
{row('eye aspect ratio instead (cross-check), all', cv['ear_all'])}
{row('shipped threshold on all labels (not held out), >= 80 px', res['shipped_on_all_labels']['ge80'])}
{row('shipped threshold on all labels (not held out), all', res['shipped_on_all_labels']['all'])}

Reading: on faces of at least 80 px no open face was flagged and 6 of the 7 closed ones were (the miss: a girl looking
down with lowered lids, blink score low; a borderline label). On small faces (40-80 px in 224 px PARA photos) squints
and smiles reach the threshold: precision drops. Closed eyes are rare: the 80 px figures rest on 7 closed faces, so
their uncertainty is large (one more miss is recall 0.71). Face filter: detector confidence >= 0.95 keeps
{res['not_faces_kept']} of {res['not_faces']} statues/animals (they get eyes like a face); that cut was chosen looking at all labels.
The labels are one person's reading of small crops.

Soft faces: the {sf['shipped']['all']['faces']} real labelled faces of at least 48 px as they are, and the same photos
blurred (Gaussian, 1.5 px per 128 px of face, at least 1 px). `SOFT_THRESHOLD = {sf['shipped']['threshold']}` is the
best balanced accuracy on all of them ({sf['threshold_all']}); 2-fold: {f_soft(sf['folds'][0])}; {f_soft(sf['folds'][1])}.
With the shipped threshold, faces >= 80 px: {100 * sf['shipped']['ge80']['sharp_flagged_soft']:.1f} % of the real faces read
soft, {100 * sf['shipped']['ge80']['blurred_flagged_soft']:.1f} % of the blurred ones do. (Real faces are not all sharp:
PARA photos are 224 px web copies.)

Speed (2-core shared CPU, onnxruntime; detector on at most 960 px, two landmark passes and the blendshapes per face):
**{sp['ms_per_photo_481x321']} ms a photo** over {sp['photos']} BSDS500 photos as they are (481x321, {sp['faces']} faces,
decode included); {sp['ms_per_photo_12mp_analysis']} ms a photo for the same photos upscaled to 12 MP in memory
(analysis only, including the downscale to the detector's 960 px; landmarks always run on 256 px crops).
"""
    write_section("Faces and eyes", "python benchmarks/faces_eval.py --json", body)


if __name__ == "__main__":
    sys.exit(main())
