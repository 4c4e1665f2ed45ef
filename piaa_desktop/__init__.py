"""PIAA Desktop: a photo manager that learns one photographer's taste on their own machine."""

import os as _os

# No network, ever, including a dependency's: ONNX Runtime's telemetry (it looks up an outside host
# after the first session and writes a device id under ~/.cache/Microsoft) is switched off here, in
# the package root, so it is set before any module of the app can import onnxruntime.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
APP_NAME = "PIAA Desktop"
APP_ID = "piaa-desktop"
