"""The options of ``piaa train-prior`` (:mod:`piaa_desktop.training.train_para_prior`), in a module that
imports nothing heavy: every ``piaa`` command builds the whole parser, and importing the trainer for its
options cost each of them numpy and the personal-model modules before it did anything."""
from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data",
                    help="shared data folder with para/")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("PIAA_PARA_CACHE", "/tmp/piaa-para-cache")),
                    help="folder of the feature caches (built once when missing)")
    ap.add_argument("--out", type=Path, default=None, help="output .npz (default models/personal_prior.npz)")
    ap.add_argument("--iterations", type=int, default=250)
    ap.add_argument("--meta-batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--train-raters", type=int, default=400)
    ap.add_argument("--eval-raters", type=int, default=40)
    ap.add_argument("--eval-repeats", type=int, default=2)
    ap.add_argument("--pca", type=int, default=48)
    ap.add_argument("--mlp-hidden", type=int, default=128, help="hidden units of the aesthetic MLP (0: ridge only)")
    ap.add_argument("--mlp-seeds", type=int, default=3)
    ap.add_argument("--mlp-epochs", type=int, default=15)
    ap.add_argument("--tune-tasks", type=int, default=60, help="simulated tasks for the baselines' grid searches")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split-file", type=Path, default=None, help="session split (default training/para_split.json)")
    ap.add_argument("--no-manifest", action="store_true", help="do not update models/manifest.json")
