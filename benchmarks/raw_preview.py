"""Camera RAW: the embedded preview vs a decode, per file, and the import of the folder.

For each RAW file of the folder (default ../shared/data/raw: real files of 7 cameras, see its README):
the embedded preview (LibRaw extract_thumb + JPEG/bitmap decode), what the import reads
(``imageio.open_image``: the preview when its long edge is >= RAW_PREVIEW_MIN_EDGE, else a half-size
decode), a half-size decode and a full demosaic (what a 100 % view needs). Median of ``--repeat`` runs,
in milliseconds. Then the import of a copy of the folder (scan + thumbnails + signals, embeddings).
Writes its section of benchmarks/RESULTS.md with the command (``--no-write`` to skip); ``--json`` prints
only JSON on stdout.

    python benchmarks/raw_preview.py [--folder ../shared/data/raw] [--repeat 3] [--json] [--no-write]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import write_section  # noqa: E402

DEFAULT = HERE.parent.parent / "shared" / "data" / "raw"


def _ms(fn, repeat: int):
    times, out, err = [], None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            out = fn()
        except Exception as exc:  # noqa: BLE001 - a file that cannot do this: recorded, not fatal
            err = f"{type(exc).__name__}: {exc}"
            break
        times.append((time.perf_counter() - t0) * 1000)
    return (round(statistics.median(times), 1) if times else None), out, err


def bench_file(path: Path, repeat: int) -> dict:
    import rawpy
    from PIL import Image

    from piaa_desktop.core.imageio import load_full_rgb, open_image

    def preview():
        with rawpy.imread(str(path)) as raw:
            t = raw.extract_thumb()
            if t.format == rawpy.ThumbFormat.JPEG:
                im = Image.open(io.BytesIO(t.data))
                im.load()
                return im.size
            return (t.data.shape[1], t.data.shape[0])

    def half():
        with rawpy.imread(str(path)) as raw:
            a = raw.postprocess(use_camera_wb=True, output_bps=8, half_size=True)
            return (a.shape[1], a.shape[0])

    def imported():
        im = open_image(path)
        return im.info.get("raw_source"), im.size

    row = {"file": path.name, "bytes": path.stat().st_size}
    row["preview_ms"], size, err = _ms(preview, repeat)
    row["preview_size"] = list(size) if size and row["preview_ms"] is not None else None
    row["preview_error"] = err
    row["import_read_ms"], got, err = _ms(imported, repeat)
    row["import_reads"] = got[0] if got and row["import_read_ms"] is not None else None
    row["import_error"] = err
    row["half_decode_ms"], _size, row["half_error"] = _ms(half, repeat)
    row["full_decode_ms"], full, row["full_error"] = _ms(lambda: load_full_rgb(path).size, max(1, repeat // 2))
    row["full_size"] = list(full) if full and row["full_decode_ms"] is not None else None
    return row


def bench_import(folder: Path) -> dict:
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.embeddings import extract_embeddings
    from piaa_desktop.core.scanner import scan_folder

    with tempfile.TemporaryDirectory(prefix="piaa-rawbench-") as tmp:
        tmp = Path(tmp)
        lib = tmp / "raw"
        lib.mkdir()
        for p in sorted(folder.iterdir()):
            if p.is_file() and not p.name.lower().endswith(".md"):
                shutil.copy2(p, lib / p.name)  # a copy: nothing is ever written beside the data
        cat = Catalog.open(tmp / "catalog.sqlite3")
        t0 = time.perf_counter()
        res = scan_folder(cat, lib, tmp / "thumbs")
        t1 = time.perf_counter()
        extract_embeddings(cat, tmp / "thumbs")
        t2 = time.perf_counter()
        cat.close()
    return {"files": len(res.new) + len(res.errors), "imported": len(res.new),
            "skipped": [{"file": Path(p).name, "reason": r} for p, r in res.errors],
            "from_preview_only": [Path(p).name for p, _n in res.notes],
            "scan_s": round(t1 - t0, 2), "embed_s": round(t2 - t1, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folder", default=str(DEFAULT))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"no RAW folder at {folder}", file=sys.stderr)
        return 2
    from piaa_desktop.core.imageio import RAW_EXTENSIONS, RAW_PREVIEW_MIN_EDGE

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in RAW_EXTENSIONS)
    rows = [bench_file(p, args.repeat) for p in files]
    result = {"folder": str(folder), "preview_min_edge": RAW_PREVIEW_MIN_EDGE, "files": rows,
              "import": bench_import(folder), "cpu_count": os.cpu_count()}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for r in rows:
            print(r)
        print(result["import"])
    if not args.no_write:
        def cell(v, err=None):
            return "fails" if v is None else f"{v:g}"

        lines = ["| file | embedded preview | preview ms | import reads | import ms | half decode ms | full decode ms |",
                 "|---|---|---|---|---|---|---|"]
        for r in rows:
            pv = "none" if r["preview_size"] is None else "x".join(map(str, r["preview_size"]))
            lines.append(f"| {r['file']} | {pv} | {cell(r['preview_ms'])} | {r['import_reads'] or 'skipped'} | "
                         f"{cell(r['import_read_ms'])} | {cell(r['half_decode_ms'])} | {cell(r['full_decode_ms'])} |")
        imp = result["import"]
        ok = [r for r in rows if r["preview_ms"] is not None and r["half_decode_ms"] is not None]
        speedup = (statistics.median(r["half_decode_ms"] / max(r["preview_ms"], 0.05) for r in ok) if ok else None)
        body = "\n".join(lines) + "\n\n" + (
            f"Median over {args.repeat} runs on {os.cpu_count()} CPU cores (shared machine). The import reads the embedded "
            f"preview when its long edge is >= {RAW_PREVIEW_MIN_EDGE} px, else a half-size decode; the full "
            f"demosaic only runs for a 100 % view. Where a file has both, the preview is "
            f"{speedup:.0f}x faster than a half-size decode (median).\n\n" if speedup else "") + (
            f"Import of the folder (copy): {imp['imported']} imported, {len(imp['skipped'])} skipped "
            f"({'; '.join(s['file'] + ': ' + s['reason'] for s in imp['skipped']) or 'none'}); "
            f"scan {imp['scan_s']} s, embeddings {imp['embed_s']} s.")
        write_section("RAW: embedded previews vs decode", "python benchmarks/raw_preview.py", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
