"""The one error the demo reports to its user instead of a traceback."""

from __future__ import annotations

__all__ = ["DemoError"]


class DemoError(Exception):
    """Something the user fixes with a flag or an install (a busy port, a missing OTel SDK): the
    message names that flag or install line."""
