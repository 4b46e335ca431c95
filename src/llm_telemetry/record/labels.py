"""Label values and the cardinality guard, shared by every family (Prometheus and OTel alike).

Admission of a base label set (provider, request model, operation, declared attribution labels) is
decided once per call, at its begin: past ``max_label_sets`` the unbounded labels fold to ``_OTHER``,
so ``sum()`` over any family stays exact while the number of series stays bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ..contract import valid_text

__all__ = ["BASE_LABELS", "OTHER", "Admission", "label_value", "model_label"]

OTHER = "_OTHER"
MAX_LABEL_LENGTH = 128
BASE_LABELS = ("provider", "request_model", "operation")


def label_value(value: object) -> str:
    """A label value every exporter can always expose: a bounded, valid UTF-8 string.

    One lone surrogate (a truncated emoji in a tenant name, a provider's broken ``model``) would
    otherwise make every later scrape of the whole registry fail.
    """
    text = value if isinstance(value, str) else str(value)
    return valid_text(text[:MAX_LABEL_LENGTH])


def model_label(name: object) -> str:
    """A model label value: whitespace and case normalized, bounded, valid UTF-8, never guessed."""
    if not isinstance(name, str):
        return "unknown"
    value = name.strip().lower()
    return label_value(value) if value else "unknown"


class Admission:
    """Which base label sets get series of their own (the first ``max_label_sets``), for every family."""

    def __init__(self, attribute_names: tuple[str, ...], max_label_sets: int, folds: Any = None) -> None:
        self.attribute_names = attribute_names
        self.max_label_sets = max_label_sets
        #: ``llm_telemetry_series_folded_total`` (None when Prometheus is off).
        self.folds = folds
        #: Label values (normalized) -> the key they are recorded under, for admitted sets only.
        self._admitted: dict[tuple[str, ...], tuple[str, ...]] = {}
        #: The calls' raw values -> their admitted key: the usual call is one dict lookup.
        self._seen: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def key(
        self, provider: str, request_model: str, operation: str, attrs: Mapping[str, str]
    ) -> tuple[str, ...]:
        """The label values to record a call under: its own (made valid) if admitted, else folded."""
        raw: tuple[str, ...] = (provider, request_model, operation)
        if self.attribute_names:
            raw += tuple(attrs.get(n, "") for n in self.attribute_names)
        found = self._seen.get(raw)
        if found is not None:
            return found
        key: tuple[str, ...] = (label_value(provider), model_label(request_model), label_value(operation))
        key += tuple(label_value(v) for v in raw[3:])
        with self._lock:
            admitted = self._admitted.get(key)
            if admitted is None and len(self._admitted) < self.max_label_sets:
                admitted = self._admitted[key] = key
            if admitted is not None:
                if len(self._seen) < 4 * self.max_label_sets:
                    self._seen[raw] = admitted
                return admitted
        if self.folds is not None:
            self.folds.inc()
        return (key[0], OTHER, key[2], *(OTHER for _ in key[3:]))
