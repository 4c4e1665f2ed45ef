"""PIAA Desktop: a photo manager that learns one photographer's taste on their own machine."""

__version__ = "0.1.0"
APP_NAME = "PIAA Desktop"
APP_ID = "piaa-desktop"
