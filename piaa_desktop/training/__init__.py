"""Scripts that train or export the models shipped in ``models/`` (torch lives here, never in start-up paths)."""
