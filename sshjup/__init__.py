"""sshjup: a Jupyter tunnel that plain `ssh ALIAS` and a PuTTY saved session both open."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
