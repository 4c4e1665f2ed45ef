"""Entry point of the bundled ``piaa-desktop`` executable (PyInstaller); also runs from a checkout.

    piaa-desktop [args]          the app: piaa_desktop.gui.app:main, exactly as the pip entry point
    piaa-desktop --self-test     checks a bundle without a display: resources, models (sha256 and a run
                                 through onnxruntime), the themed dialogs; prints one JSON report, exit 0/1
    PIAA_SMOKE_QUIT_MS=4000 piaa-desktop
                                 starts the real app, and after that many ms of event loop prints which
                                 top-level windows are visible and quits: exit 0 if a main window showed,
                                 3 if none did (used by tests/test_packaging_bundle.py with
                                 QT_QPA_PLATFORM=offscreen); PIAA_SMOKE_SHOT=/tmp/x also saves
                                 /tmp/x-<WindowClass>.png of each visible window
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time

SMOKE_ENV = "PIAA_SMOKE_QUIT_MS"
_smoke = {"armed": False, "done": False, "rc": None}


def _smoke_report_and_quit() -> None:
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication.instance()
    wins = [w for w in app.topLevelWidgets() if w.isVisible()]
    desc = [{"class": type(w).__name__, "title": w.windowTitle(), "main": isinstance(w, QMainWindow)} for w in wins]
    ok = any(d["main"] for d in desc)
    shot = os.environ.get("PIAA_SMOKE_SHOT")
    if shot:  # a picture of each visible window: PIAA_SMOKE_SHOT=/tmp/smoke -> /tmp/smoke-MainWindow.png
        for w in wins:
            w.grab().save(f"{shot}-{type(w).__name__}.png")
    print("PIAA_SMOKE " + json.dumps({"windows": desc, "main_window": ok}), flush=True)
    _smoke.update(done=True, rc=0 if ok else 3)
    for w in wins:
        w.close()
    app.exit(_smoke["rc"])


def _arm(ms: int) -> None:
    if _smoke["armed"]:
        return
    _smoke["armed"] = True
    from PySide6.QtCore import QTimer

    QTimer.singleShot(ms, _smoke_report_and_quit)

    def watchdog() -> None:  # never hang a CI job: hard exit if the app ignores the quit
        time.sleep(ms / 1000 + 30)
        print("PIAA_SMOKE watchdog: the app did not quit", file=sys.stderr, flush=True)
        os._exit(4)

    threading.Thread(target=watchdog, daemon=True).start()


def install_smoke_quit(ms: int) -> None:
    """Arm the smoke timer at the first event loop the app starts (its main loop or a first-run dialog)."""
    from PySide6.QtWidgets import QApplication, QDialog

    app_exec = QApplication.exec
    dialog_exec = QDialog.exec

    def patched_app_exec(*_a, **_k):
        if _smoke["done"]:
            return _smoke["rc"]
        _arm(ms)
        return app_exec()

    def patched_dialog_exec(self, *a, **k):
        if _smoke["done"]:
            return 0
        _arm(ms)
        return dialog_exec(self, *a, **k)

    QApplication.exec = patched_app_exec
    QDialog.exec = patched_dialog_exec


def self_test() -> int:
    """Check an installed bundle (or a checkout) without starting the main window."""
    report: dict = {"ok": True, "checks": []}

    def check(name: str, fn) -> None:
        try:
            detail = fn()
            report["checks"].append({"check": name, "ok": True, "detail": detail})
        except Exception as exc:  # noqa: BLE001 - every failure is reported, not raised
            report["ok"] = False
            report["checks"].append({"check": name, "ok": False, "detail": f"{type(exc).__name__}: {exc}"})

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from piaa_desktop import APP_NAME, __version__
    from piaa_desktop.core.paths import models_dir, resources_dir

    report["app"] = f"{APP_NAME} {__version__}"
    report["frozen"] = bool(getattr(sys, "frozen", False))
    report["resources_dir"] = str(resources_dir())
    report["models_dir"] = str(models_dir())

    def resources():
        need = ["style/dark.qss", "style/light.qss", "shortcuts.md", "icons/piaa-desktop.svg",
                "icons/piaa-desktop-256.png", "sample_library/LICENSES.md"]
        missing = [n for n in need if not (resources_dir() / n).is_file()]
        if missing:
            raise FileNotFoundError(f"missing resources: {missing}")
        from piaa_desktop.core.sample import sample_photos

        return f"{len(sample_photos())} sample photos"

    def models():
        from piaa_desktop.core.models import verify_models

        sts = verify_models()
        bad = [s.problem for s in sts if not s.ok]
        if bad:
            raise RuntimeError("; ".join(bad))
        return [s.name for s in sts]

    def onnx_run():
        import numpy as np
        import onnxruntime as ort

        from piaa_desktop.core.models import load_manifest

        out = {}
        for name, entry in load_manifest()["models"].items():
            if not str(entry.get("file", "")).endswith(".onnx"):
                continue
            sess = ort.InferenceSession(str(models_dir() / entry["file"]), providers=["CPUExecutionProvider"])
            feeds = {}
            rng = np.random.default_rng(0)  # not zeros: the face blendshape model normalises its input
            for i in sess.get_inputs():
                shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
                if "float" in i.type:
                    feeds[i.name] = rng.random(shape, dtype=np.float32)
                else:
                    feeds[i.name] = np.zeros(shape, dtype=np.int64)
            res = sess.run(None, feeds)
            if not all(np.isfinite(r).all() for r in res if hasattr(r, "dtype") and r.dtype.kind == "f"):
                raise RuntimeError(f"{name}: non-finite output")
            out[name] = [list(r.shape) for r in res]
        return {"onnxruntime": ort.__version__, "outputs": out}

    def sample_decode():
        from piaa_desktop.core.imageio import load_rgb
        from piaa_desktop.core.sample import sample_photos

        sizes = [load_rgb(p).size for p in sample_photos()]
        if not sizes:
            raise RuntimeError("no sample photos")
        return len(sizes)

    def dialogs():
        from PySide6.QtWidgets import QApplication

        from piaa_desktop.gui.about import AboutDialog, ShortcutsDialog
        from piaa_desktop.gui.theme import app_icon, apply_theme
        from piaa_desktop.gui.welcome import WelcomeDialog

        app = QApplication.instance() or QApplication(sys.argv[:1])
        apply_theme(app, "dark")
        if app_icon().isNull():
            raise RuntimeError("application icon did not load")
        shown = []
        for cls in (WelcomeDialog, AboutDialog, ShortcutsDialog):
            d = cls()
            d.show()
            app.processEvents()
            if d.grab().isNull():
                raise RuntimeError(f"{cls.__name__} did not render")
            shown.append(cls.__name__)
            d.close()
        return {"platform": app.platformName(), "dialogs": shown}

    check("resources", resources)
    check("models", models)
    check("onnxruntime", onnx_run)
    check("sample_library", sample_decode)
    check("dialogs", dialogs)
    report["torch_loaded"] = "torch" in sys.modules
    print(json.dumps(report, indent=1), flush=True)
    return 0 if report["ok"] else 1


def main() -> int:
    multiprocessing.freeze_support()
    if "--self-test" in sys.argv[1:]:
        return self_test()
    ms = os.environ.get(SMOKE_ENV)
    if ms:
        install_smoke_quit(int(ms))
    try:
        from piaa_desktop.gui.app import main as app_main
    except ImportError as exc:
        print(f"PIAA Desktop cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        rc = app_main()
    except SystemExit as exc:  # an app main() that calls sys.exit(app.exec()) itself
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    if _smoke["done"]:
        return int(_smoke["rc"])
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
