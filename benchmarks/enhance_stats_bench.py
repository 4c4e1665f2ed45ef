"""Stats-space targets vs the parameter regression on FiveK Expert C held-out pairs (issue 11).

    python benchmarks/enhance_stats_bench.py [--folds 4 20] [--targets-cache FILE.npy] [--drl-rows LOO.json] [--json]

Each split learns from its training pairs only; ``--folds 20`` is leave-one-out. ``--drl-rows`` adds the
rows of ``piaa bench enhance --folds K --json`` (regression, DRL alone, hybrids of the shipped code) to
the section. Writes the "Enhancer: stats-space targets (issue 11)" section of benchmarks/RESULTS.md
(with ``--json``, prints only JSON and writes nothing).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIVEK = REPO.parent / "shared" / "data" / "fivek_expert_c"
TITLE = "Enhancer: stats-space targets (issue 11)"


def load(targets_cache: Path | None, log):
    from piaa_desktop.core import develop
    from piaa_desktop.core.enhance.model import PAIR_SIDE
    from piaa_desktop.core.enhance.regress import fit_targets
    from piaa_desktop.lab.enhance_bench import find_pairs, load_pair
    from piaa_desktop.lab.enhance_stats import Pair

    files = find_pairs(FIVEK)
    raw = [load_pair(*p) for p in files]
    if targets_cache and targets_cache.exists():
        Z = np.load(targets_cache)
    else:
        # a retouch's sliders are fitted from that pair alone (the product's fit_targets), so fitting all
        # pairs once leaks nothing across splits
        t = time.time()
        Z = fit_targets([(develop.proxy(a, PAIR_SIDE), develop.proxy(b, PAIR_SIDE)) for a, b in raw])
        log(f"fitted the sliders of {len(raw)} retouches in {time.time() - t:.0f} s")
        if targets_cache:
            np.save(targets_cache, Z)
    return [Pair(a, b, z) for (a, b), z in zip(raw, Z)], [f[0].name for f in files]


def splits_for(n: int, folds: int, seed: int = 0):
    order = np.random.default_rng(seed).permutation(n)  # the same folds as `piaa bench enhance --folds`
    parts = np.array_split(order, folds)
    return [([int(i) for i in order if i not in set(part)], [int(i) for i in part]) for part in parts]


def table(res: dict, splits, folds: int) -> list[str]:
    psnr = res["psnr"]
    base = np.asarray(psnr["regression"])
    lines = ["| method | pooled PSNR (dB) | vs regression | photos better / worse | PSNR per split (dB) |", "|---|---|---|---|---|"]
    for m, v in psnr.items():
        v = np.asarray(v)
        per, k = [], 0
        for _tr, te in splits:
            per.append(v[k:k + len(te)].mean())
            k += len(te)
        per_s = " / ".join(f"{x:.2f}" for x in per) if folds <= 5 else f"{min(per):.2f} .. {max(per):.2f} (one photo each)"
        lines.append(f"| {m} | {v.mean():.2f} | {v.mean() - base.mean():+.2f} | {int((v > base + 0.01).sum())} / "
                     f"{int((v < base - 0.01).sum())} | {per_s} |")
    on = sum(g["on"] for g in res["gates"])
    lines.append("")
    lines.append(f"Gate (leave-one-out on the training pairs only, steering kept if the lower bound of its gain > 0): on in "
                 f"{on} of {len(res['gates'])} splits; inner gains " + ", ".join(f"{g['inner_gain_db']:+.2f}" for g in res["gates"][:8])
                 + (" ..." if len(res["gates"]) > 8 else "") + " dB.")
    return lines


def drl_table(path: Path) -> list[str]:
    rows = json.loads(path.read_text())
    rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    lines = ["| method | pooled PSNR (dB) | PSNR std | mean CIEDE2000 | PSNR per split |", "|---|---|---|---|---|"]
    for r in rows:
        per = r["psnr_per_split"]
        per_s = " / ".join(f"{x:.2f}" for x in per) if len(per) <= 5 else f"{min(per):.2f} .. {max(per):.2f} ({len(per)} splits)"
        lines.append(f"| {r['method']} | {r['psnr_mean']:.2f} | {r['psnr_std']:.2f} | {r['de2000_mean']:.2f} | {per_s} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, nargs="+", default=[4, 20])
    ap.add_argument("--targets-cache", type=Path)
    ap.add_argument("--drl-rows", type=Path, action="append", default=[],
                    help="JSON rows of `piaa bench enhance --folds K --json` to include (repeatable)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--save", type=Path, help="also keep the per-photo results in this JSON file")
    ap.add_argument("--load", type=Path, help="write the section from a --save file instead of re-running")
    a = ap.parse_args(argv)
    from piaa_desktop.lab.enhance_stats import evaluate

    def log(m):
        print(m, file=sys.stderr, flush=True)

    t0 = time.time()
    results = {}
    command = "python benchmarks/enhance_stats_bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if a.load:
        saved = json.loads(a.load.read_text())
        n_pairs = saved["n_pairs"]
        results = {int(k): (v["splits"], {"psnr": v["psnr"], "gates": v["gates"]}, v["seconds"]) for k, v in saved["folds"].items()}
        t0 -= saved["seconds"]
        command = saved.get("command", command) + f" (section written from its --save file by --load {a.load.name})"
    else:
        pairs, _names = load(a.targets_cache, log)
        n_pairs = len(pairs)
        for k in a.folds:
            sp = splits_for(n_pairs, k)
            t = time.time()
            results[k] = (sp, evaluate(pairs, sp, log=log), time.time() - t)
        if a.save:
            a.save.write_text(json.dumps({"n_pairs": n_pairs, "seconds": time.time() - t0, "command": command, "folds": {
                str(k): {"splits": sp, "seconds": dt, **r} for k, (sp, r, dt) in results.items()}}))
    if a.json:
        print(json.dumps({str(k): {"splits": sp, "seconds": dt, **r} for k, (sp, r, dt) in results.items()}))
        return 0
    body = [
        f"FiveK Expert C ({FIVEK.name}, 20 pairs, a4576 converted from ProPhoto by its ICC profile, as the enhancer "
        "benchmark does). Sliders of each retouch fitted once from that pair alone (`fit_targets`); everything else "
        "(ridge penalty by inner leave-one-out, statistics ridge, gate) is fitted per split on its training pairs only. "
        "PSNR at the stored size (~512 px). Folds are `piaa bench enhance --folds K`'s (permutation seed 0).",
        "",
    ]
    for k, (sp, r, dt) in results.items():
        body.append(f"**{k} disjoint folds** ({'leave-one-out' if k == n_pairs else f'{len(sp[0][1])} held-out pairs each'}; "
                    f"{dt / 60:.1f} min):")
        body.append("")
        body += table(r, sp, k)
        body.append("")
    for p in a.drl_rows:
        rows = json.loads(p.read_text())
        body.append(f"Shipped code's methods (`piaa bench enhance --pairs ../shared/data/fivek_expert_c --folds "
                    f"{len(rows[0]['psnr_per_split'])} --json`, 10 policy rounds; `{p.name}`):")
        body.append("")
        body += drl_table(p)
        body.append("")
    body.append(f"Total {(time.time() - t0) / 60:.1f} min on the shared 2-core CPU.")
    write_section(TITLE, command, "\n".join(body))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
