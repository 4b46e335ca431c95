"""Install and remove wrappers so that ``uninstrument()`` restores every original object exactly.

:data:`HOOKS` is the one registry of what is installed: ``instrument()`` fills it, ``uninstrument()``
empties it, and a layer that captured an SDK method before we hooked it (instructor) finds our hook
of that method there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import wrapt

__all__ = ["HOOKS", "Hooks", "Patch"]


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


class Hooks:
    """The patches currently installed, in installation order."""

    def __init__(self) -> None:
        self._patches: list[Patch] = []

    def apply(self, patches: Iterable[Patch]) -> None:
        """Install ``patches``; all or none (a failure removes those of this batch already applied)."""
        applied: list[Patch] = []
        try:
            for patch in patches:
                patch.apply()
                applied.append(patch)
        except BaseException:
            for patch in reversed(applied):
                patch.remove()
            raise
        self._patches.extend(applied)

    def remove_all(self) -> None:
        """Restore every original, last installed first."""
        for patch in reversed(self._patches):
            patch.remove()
        self._patches.clear()

    def hook_of(self, original: object) -> Any:
        """Our installed hook of ``original`` (for layers that captured it before us), or None."""
        for patch in self._patches:
            if patch.original is original:
                return vars(patch.owner)[patch.name]
        return None


HOOKS = Hooks()
