"""Wire-shape comparison for the fake provider's tests: a documented or recorded body against ours."""

from __future__ import annotations


def key_shape(obj: object) -> object:
    """The key structure of a JSON value (dict keys recursively, a list's first item), values dropped,
    so two bodies compare equal when they carry the same fields in the same nesting."""
    if isinstance(obj, dict):
        return {k: key_shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [key_shape(obj[0])] if obj else []
    return None
