"""Benchmarks, simulations and experiments: code that measures the product, never part of it.

The headless core (``piaa_desktop.core``) never imports this package (an import-linter contract
checks it); the CLI's ``piaa bench ...`` commands and the training scripts do.
"""
