"""The headless core of PIAA Desktop.

Nothing under ``piaa_desktop.core`` imports Qt (an import-linter contract in pyproject.toml and a
test enforce it). The GUI and the CLI both drive these functions. Long jobs are plain functions that
take a ``progress`` callback and a ``cancel`` token (see :mod:`piaa_desktop.core.jobs`).
"""
