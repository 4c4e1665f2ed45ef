"""The enhancer: a deep-RL retouching policy that learns the user's develop style.

Light to import (no torch): torch is imported inside the training functions only; inference runs on
onnxruntime. Public entry points:

* :func:`auto_enhance` (``rgb_proxy -> params``), :func:`load_enhancer`
* :func:`train_enhancer_from_catalog` and :func:`auto_enhance_photos` (catalog-level jobs)

Pre-training, simulated styles and the benchmark live in :mod:`piaa_desktop.lab` (``lab.enhance_pretrain``,
``lab.enhance_bench``); the core never imports the lab.
"""
from piaa_desktop.core.enhance.model import (  # noqa: F401
    EnhancerError,
    EnhancerModel,
    auto_enhance,
    load_enhancer,
    load_personal,
    load_shipped,
    train_from_pairs,
)
from piaa_desktop.core.enhance.operations import auto_enhance_photos, train_enhancer_from_catalog  # noqa: F401
