"""Prometheus families of the contract, the cardinality guard, and pre-bound series for the hot path.

Admission of a base label set (provider, request_model, operation, attribution labels) is decided
once and shared by every family: past ``max_label_sets`` the unbounded labels fold to ``_OTHER``, so
``sum()`` over any family stays exact while the number of series stays bounded. Label children are
bound once per label set and cached, so recording a call is a dict lookup and a few ``inc()`` calls.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .config import ConfigError

__all__ = ["OTHER", "Families", "Metrics", "RequestSeries", "TokenSeries"]

OTHER = "_OTHER"
#: Distinct response models kept per base label set before they fold too (providers' dated snapshots).
MAX_RESPONSE_MODELS = 32
MAX_LABEL_LENGTH = 128

DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84,
    327.68, 655.36,
)  # fmt: skip
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
TPOT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)
OUTCOMES = ("success", "error", "cancelled")
TOKEN_FAMILIES = ("input", "output", "cache_read", "cache_write", "reasoning")
COST_COMPONENTS = ("input", "cache_read", "cache_write", "output", "request")
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "refusal", "other")
BASE_LABELS = ("provider", "request_model", "operation")
#: Where the instrumentation can fail internally (label values of ``llm_telemetry_internal_errors_total``).
INTERNAL_STAGES = ("begin", "record", "price", "retry", "result", "stream_chunk", "stream_end", "hook")


def normalize_model(name: object) -> str:
    """A model label value: whitespace and case normalized, length bounded, never guessed."""
    if not isinstance(name, str):
        return "unknown"
    value = name.strip().lower()
    return value[:MAX_LABEL_LENGTH] if value else "unknown"


def label_value(value: object) -> str:
    """An attribution label value: a bounded string."""
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_LABEL_LENGTH]


class Families:
    """The registered Prometheus families, created once per registry and label configuration."""

    def __init__(self, registry: CollectorRegistry, attribute_names: tuple[str, ...]) -> None:
        self.registry = registry
        self.attribute_names = attribute_names
        base = (*BASE_LABELS, *attribute_names)
        self._created: list[Any] = []
        multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ

        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            # Named as exposed; prometheus-client keeps the family name without ``_total``.
            metric: Counter = self._register(Counter, name, doc, labels)
            return metric

        def histogram(name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> Histogram:
            metric: Histogram = self._register(Histogram, name, doc, labels, buckets=buckets)
            return metric

        self.requests = counter(
            "llm_telemetry_requests_total", "Finished LLM requests.", (*base, "stream", "outcome")
        )
        self.errors = counter(
            "llm_telemetry_errors_total", "Failed LLM requests by error type.", (*base, "error_type")
        )
        self.retries = counter(
            "llm_telemetry_retries_total",
            "Retried attempts: SDK-level HTTP retries and structured-output validation retries.",
            (*base, "error_type"),
        )
        token_labels = (*base, "response_model")
        self.tokens = {
            "input": counter(
                "llm_telemetry_input_tokens_total",
                "Input tokens billed, cache reads and writes included.",
                token_labels,
            ),
            "output": counter(
                "llm_telemetry_output_tokens_total", "Output tokens billed, reasoning included.", token_labels
            ),
            "cache_read": counter(
                "llm_telemetry_cache_read_tokens_total",
                "Input tokens read from a prompt cache.",
                token_labels,
            ),
            "cache_write": counter(
                "llm_telemetry_cache_write_tokens_total",
                "Input tokens written to a prompt cache.",
                token_labels,
            ),
            "reasoning": counter(
                "llm_telemetry_reasoning_tokens_total",
                "Output tokens spent on reasoning or thinking.",
                token_labels,
            ),
        }
        self.cost = counter(
            "llm_telemetry_cost_usd_total",
            "Estimated spend in USD; components do not overlap.",
            (*token_labels, "component"),
        )
        self.unpriced = counter(
            "llm_telemetry_unpriced_requests_total", "Requests whose model has no known price.", base
        )
        self.usage_missing = counter(
            "llm_telemetry_usage_missing_total",
            "Requests that ended with no provider-reported usage.",
            (*base, "reason"),
        )
        self.finish_reasons = counter(
            "llm_telemetry_finish_reasons_total", "How responses ended.", (*base, "finish_reason")
        )
        self.duration = histogram(
            "llm_telemetry_request_duration_seconds",
            "Whole request duration: retries, backoff and the full stream included.",
            (*base, "stream"),
            DURATION_BUCKETS,
        )
        self.ttft = histogram(
            "llm_telemetry_time_to_first_token_seconds",
            "Streams: start to the first chunk carrying output.",
            base,
            TTFT_BUCKETS,
        )
        self.tpot = histogram(
            "llm_telemetry_time_per_output_token_seconds",
            "Successful streams: (t_last - t_first) / (output tokens - 1).",
            base,
            TPOT_BUCKETS,
        )
        self.in_flight = self._register(
            Gauge,
            "llm_telemetry_in_flight_requests",
            "Requests under way.",
            base,
            multiprocess_mode="livesum",
        )
        self.build_info = self._register(
            Gauge,
            "llm_telemetry_build_info",
            "Versions of llm-telemetry, the instrumented SDKs and the price data (value 1).",
            ("version", "openai", "anthropic", "litellm", "instructor", "prices"),
            multiprocess_mode="max",
        )
        self.internal_errors = counter(
            "llm_telemetry_internal_errors_total",
            "Failures inside the instrumentation, swallowed so the caller never sees them.",
            ("stage",),
        )
        for stage in INTERNAL_STAGES:  # at zero, so the reliability panel reads 0, not "no data"
            self.internal_errors.labels(stage)
        self.series_folded = counter(
            "llm_telemetry_series_folded_total",
            "Requests recorded under _OTHER labels because the label-set cap was reached.",
            (),
        )
        self.multiprocess = multiprocess

    def _register(self, cls: Any, name: str, doc: str, labels: tuple[str, ...], **kw: Any) -> Any:
        try:
            metric = cls(name, doc, labels, registry=self.registry, **kw)
        except ValueError as exc:
            self.unregister()
            raise ConfigError(
                f"llm_telemetry: metric {name!r} is already registered in this Prometheus registry by "
                f"someone else ({exc}); pass instrument(registry=...) or remove the other collector"
            ) from None
        self._created.append(metric)
        return metric

    def unregister(self) -> None:
        """Remove every family this object registered (used when the label configuration changes)."""
        for metric in self._created:
            with contextlib.suppress(KeyError):
                self.registry.unregister(metric)
        self._created.clear()


@dataclass(slots=True)
class RequestSeries:
    """Children bound for one admitted base label set and stream flag."""

    key: tuple[str, ...]
    success: Any
    error: Any
    cancelled: Any
    duration: Any
    in_flight: Any
    ttft: Any
    tpot: Any
    finish: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TokenSeries:
    """Token and cost children bound for one base label set and response model."""

    input: Any
    output: Any
    cache_read: Any
    cache_write: Any
    reasoning: Any
    cost: dict[str, Any]


class Metrics:
    """Cardinality guard plus cached label children over :class:`Families`."""

    def __init__(self, families: Families, max_label_sets: int) -> None:
        self.families = families
        self.max_label_sets = max_label_sets
        self._admitted: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._series: dict[tuple[tuple[str, ...], bool], RequestSeries] = {}
        self._tokens: dict[tuple[tuple[str, ...], str], TokenSeries] = {}
        self._models: dict[tuple[str, ...], set[str]] = {}
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, ...]) -> tuple[str, ...]:
        """The label values to record ``key`` under: itself if admitted, else its folded form."""
        effective = self._admitted.get(key)
        if effective is not None:
            return effective
        with self._lock:
            effective = self._admitted.get(key)
            if effective is not None:
                return effective
            if len(self._admitted) < self.max_label_sets:
                self._admitted[key] = key
                return key
        self.families.series_folded.inc()
        return (key[0], OTHER, key[2], *(OTHER for _ in key[3:]))

    def series(self, key: tuple[str, ...], stream: bool) -> RequestSeries:
        """Bound children for an admitted base label set; created (at zero) on first sight."""
        cached = self._series.get((key, stream))
        if cached is not None:
            return cached
        f = self.families
        s = str(stream).lower()
        created = RequestSeries(
            key=key,
            success=f.requests.labels(*key, s, "success"),
            error=f.requests.labels(*key, s, "error"),
            cancelled=f.requests.labels(*key, s, "cancelled"),
            duration=f.duration.labels(*key, s),
            in_flight=f.in_flight.labels(*key),
            ttft=f.ttft.labels(*key),
            tpot=f.tpot.labels(*key),
        )
        f.unpriced.labels(*key)  # at zero: "unpriced share" reads 0%, not "no data"
        with self._lock:
            return self._series.setdefault((key, stream), created)

    def tokens(self, key: tuple[str, ...], response_model: str) -> TokenSeries:
        """Token and cost children for a response model under base label set ``key``; created at zero."""
        cached = self._tokens.get((key, response_model))
        if cached is not None:
            return cached
        with self._lock:
            seen = self._models.setdefault(key, set())
            if response_model not in seen and len(seen) >= MAX_RESPONSE_MODELS:
                response_model = OTHER
            seen.add(response_model)
        cached = self._tokens.get((key, response_model))
        if cached is not None:
            return cached
        f = self.families
        labels = (*key, response_model)
        t = f.tokens
        created = TokenSeries(
            input=t["input"].labels(*labels),
            output=t["output"].labels(*labels),
            cache_read=t["cache_read"].labels(*labels),
            cache_write=t["cache_write"].labels(*labels),
            reasoning=t["reasoning"].labels(*labels),
            cost={c: f.cost.labels(*labels, c) for c in COST_COMPONENTS},
        )
        with self._lock:
            return self._tokens.setdefault((key, response_model), created)

    def finish_reason(self, series: RequestSeries, reason: str) -> Any:
        """The bound finish-reason child (a closed set, so caching is bounded)."""
        child = series.finish.get(reason)
        if child is None:
            child = series.finish.setdefault(reason, self.families.finish_reasons.labels(*series.key, reason))
        return child
