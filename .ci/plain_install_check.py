"""CI: what a new user does headless on the plain install (README's first command, no extras).

Run with the plain venv's Python: scan a few bundled sample photos, develop some of them by the CLI in
one consistent style, learn the retouching style (``piaa enhance --train``), auto-enhance the rest, and
check the result: the personal model was used and it carries the style. Exits non-zero on any failure.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIAA = [sys.executable, "-m", "piaa_desktop.cli.main"]


def run(*args: str) -> str:
    t = time.time()
    p = subprocess.run([*PIAA, *args], capture_output=True, text=True, cwd=REPO)
    print(f"$ piaa {' '.join(args)}  ({time.time() - t:.1f} s, exit {p.returncode})", flush=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"plain-install check failed: piaa {args[2] if len(args) > 2 else args} exited {p.returncode}")
    return p.stdout


def main() -> int:
    t0 = time.time()
    for mod in ("torch", "onnx", "onnxruntime"):  # what learning a style needs comes with the plain install
        __import__(mod)
    with tempfile.TemporaryDirectory(prefix="piaa-plain-") as td:
        lib, data = Path(td) / "lib", Path(td) / "data"
        lib.mkdir()
        photos = sorted((REPO / "resources" / "sample_library").glob("*.jpg"))[:7]
        for f in photos:
            shutil.copy2(f, lib / f.name)
        files = sorted(str(p) for p in lib.iterdir())
        d = ["--data-dir", str(data)]
        run(*d, "scan", str(lib))
        edited, rest = files[:4], files[4:]
        # one consistent style: brighter, warmer, a little more contrast
        run(*d, "develop", *edited, "--set", "exposure=0.6", "--set", "temperature=25", "--set", "contrast=15")
        out = json.loads(run(*d, "develop", *edited, "--json"))
        assert all(r["params"]["exposure"] == 0.6 for r in out["photos"]), out
        out = json.loads(run(*d, "enhance", "--train", "--json", *rest))
        assert out["training"]["n_pairs"] == 4, out
        assert out["model"] == "personal", out
        assert [Path(r["path"]).name for r in out["photos"]] == [Path(p).name for p in rest], out
        mean_exp = sum(r["params"]["exposure"] for r in out["photos"]) / len(out["photos"])
        mean_temp = sum(r["params"]["temperature"] for r in out["photos"]) / len(out["photos"])
        assert mean_exp > 0.15 and mean_temp > 5, f"the learned style is not applied: {out}"
        print(f"plain install learned the style from {out['training']['n_pairs']} edits in "
              f"{out['training']['seconds']} s; auto-enhanced {len(rest)} photos (mean exposure {mean_exp:+.2f}, "
              f"temperature {mean_temp:+.1f}); check took {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
