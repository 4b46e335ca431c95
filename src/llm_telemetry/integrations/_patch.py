"""Install and remove wrappers so that ``uninstrument()`` restores every original object exactly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import wrapt

__all__ = ["Patch"]


@dataclass(slots=True)
class Patch:
    """One attribute of a class or module replaced by a ``wrapt`` wrapper around the original."""

    owner: Any
    name: str
    wrapper: Callable[..., Any]
    original: Any = field(default=None, init=False)

    def apply(self) -> None:
        # Take the raw attribute (function, classmethod, staticmethod) so restoring is exact.
        self.original = vars(self.owner)[self.name]
        setattr(self.owner, self.name, wrapt.FunctionWrapper(self.original, self.wrapper))

    def remove(self) -> None:
        current = vars(self.owner).get(self.name)
        if isinstance(current, wrapt.FunctionWrapper) and current.__wrapped__ is self.original:
            setattr(self.owner, self.name, self.original)
