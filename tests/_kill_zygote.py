"""Fork server of tests/test_reliability_kill.py (not collected: no test_ prefix).

Started once per test module (``python tests/_kill_zygote.py``), it imports what every killed job needs
(numpy, Pillow, the catalog, the CLI and the jobs' modules) once, then, for each request read on stdin (one JSON
line: ``code``, ``argv``, ``log``), forks a child that runs ``code`` with ``sys.argv[1:] = argv`` and its
stdout/stderr in the file ``log``. The child is a real process that the test SIGKILLs mid-job; without the
fork each round paid Python's start-up and these imports before the job began.

It answers on stdout, one JSON line each: ``{"ready": pid, ...}`` once, then ``{"pid": pid}`` per request
and ``{"exited": pid, "signal": n, "code": n}`` when that child is gone (it waits for a child before reading
the next request).

Fork safety: the server itself runs no job. It imports neither onnxruntime nor torch (ONNX Runtime sessions,
their thread pools and torch's are made in each child, as in a fresh process) and starts no Python thread; the
only other native threads are numpy's OpenBLAS pool, which OpenBLAS shuts down around ``fork()``
(``pthread_atfork``). ``ready`` reports both counts and the test checks them.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository

import numpy  # noqa: F401
from PIL import Image  # noqa: F401

import piaa_desktop.cli.main  # noqa: F401
import piaa_desktop.core.catalog  # noqa: F401
import piaa_desktop.core.embeddings  # noqa: F401
import piaa_desktop.core.export  # noqa: F401
import piaa_desktop.core.paths  # noqa: F401
import piaa_desktop.core.personal.heads  # noqa: F401
import piaa_desktop.core.personal.operations  # noqa: F401
import piaa_desktop.core.scanner  # noqa: F401
import piaa_desktop.core.scoring  # noqa: F401
import piaa_desktop.core.sync  # noqa: F401


def _child(req: dict) -> None:
    code = 1
    try:
        fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        sys.argv = ["kill-child", *req["argv"]]
        try:
            exec(compile(req["code"], "<kill child>", "exec"), {"__name__": "__main__"})
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def main() -> None:
    unsafe = sorted(m for m in ("onnxruntime", "torch") if m in sys.modules)
    print(json.dumps({"ready": os.getpid(), "python_threads": threading.active_count(),
                      "native_threads": len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None,
                      "unsafe_modules": unsafe}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(req)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        print(json.dumps({"exited": pid, "signal": sig, "code": code}), flush=True)


if __name__ == "__main__":
    main()
