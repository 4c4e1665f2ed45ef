"""Run ``piaa`` commands in the test process (not collected: no test_ prefix).

A test whose subject is what a command does (its output, its exit code, what it leaves in the catalog)
calls :func:`piaa_inprocess`: the CLI's own ``main(argv)`` with stdout and stderr captured, returning what
``subprocess.run(..., capture_output=True, text=True)`` would (``returncode``, ``stdout``, ``stderr``), so
the assertions read the same. It saves the child's start (Python, numpy, onnxruntime imports: ~0.5-1 CPU-s a
command). Tests whose subject is the process itself (the entry point, SIGKILL, strace, a real exit code
of ``python -m piaa_desktop.cli.main``, no network) keep real subprocesses.

An exception ``main`` lets escape is printed with its traceback on the captured stderr and gives exit
code 1, as the interpreter would for a child, so "no Traceback in stderr" still fails when it should.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Optional


@contextlib.contextmanager
def _environ(env: Optional[dict]):
    """``os.environ`` updated with ``env`` (a value of None removes the variable), restored afterwards."""
    if not env:
        yield
        return
    saved = {k: os.environ.get(k) for k in env}
    try:
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = str(v)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def piaa_inprocess(*argv: str, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """``piaa ARGV...`` through ``piaa_desktop.cli.main.main`` in this process (see the module docstring)."""
    from piaa_desktop.cli.main import main

    args = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with _environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse errors and --version / --help
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except Exception:  # noqa: BLE001 - what the interpreter would print for a child
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess(["piaa", *args], code, out.getvalue(), err.getvalue())


def piaa_data(data: Path, *args: str, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """``piaa --data-dir DATA ARGS...`` in this process."""
    return piaa_inprocess("--data-dir", str(data), *args, env=env)
