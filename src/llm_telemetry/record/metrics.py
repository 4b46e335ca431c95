"""The Prometheus side: the contract's families, the cardinality guard, and the metrics writer.

What to increment for a finished call lives here, next to the families it increments (the way
prometheus_client keeps a metric's logic with the metric). Admission of a base label set (provider,
request model, operation, attribution labels) is decided once and shared by every family: past
``max_label_sets`` the unbounded labels fold to ``_OTHER``, so ``sum()`` stays exact while the number
of series stays bounded. Children are bound once per label set, so recording is a few ``inc()`` calls.
"""

from __future__ import annotations

import contextlib
import math
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.samples import Sample

from ..config import ConfigError
from ..contract import (
    BILLED_TOKEN_FAMILIES,
    BUILD_INFO_LABELS,
    COST_COMPONENTS,
    INTERNAL_STAGES,
    OUTCOMES,
    PRECREATED_COST_COMPONENTS,
    TOKEN_FAMILIES,
    finish_reason_label,
)
from .labels import BASE_LABELS, OTHER, Admission, model_label

if TYPE_CHECKING:
    from ..usage import Usage
    from .call import Call, Ending, Request

__all__ = ["Families", "PrometheusWriter"]

#: Distinct response models kept per base label set before they fold too (providers' dated snapshots).
MAX_RESPONSE_MODELS = 32

DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84,
    327.68, 655.36,
)  # fmt: skip
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
TPOT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)
#: Token families (and their cost components) that can apply to each operation: only these are
#: pre-created at zero; an embedding has no output, so it gets no output series.
_PRECREATED = {
    "embeddings": ("input",),
}
_ALL_TOKENS = tuple(TOKEN_FAMILIES)


class _Counter(Counter):
    """A counter without the ``_created`` sample: half the series, and nothing we ship reads it."""

    def _child_samples(self) -> Iterable[Sample]:
        return (Sample("_total", {}, self._value.get(), None, self._value.get_exemplar()),)


class _Histogram(Histogram):
    """A histogram without the ``_created`` sample (see :class:`_Counter`)."""

    def _child_samples(self) -> Iterable[Sample]:
        return tuple(s for s in super()._child_samples() if s.name != "_created")


class Families:
    """The registered Prometheus families, created once per registry and label configuration.

    All or nothing: if any family cannot be registered, those already registered are removed again.
    """

    def __init__(self, registry: CollectorRegistry, attribute_names: tuple[str, ...]) -> None:
        self.registry = registry
        self.attribute_names = attribute_names
        self._created: list[Any] = []
        try:
            self._create((*BASE_LABELS, *attribute_names))
        except BaseException:
            self.unregister()
            self._created.clear()
            raise

    def _create(self, base: tuple[str, ...]) -> None:
        counter, histogram = self._counter, self._histogram
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
        docs = {
            "input": "Input tokens billed, cache reads and writes included.",
            "output": "Output tokens billed, reasoning included.",
            "cache_read": "Input tokens read from a prompt cache.",
            "cache_write": "Input tokens written to a prompt cache.",
            "reasoning": "Output tokens spent on reasoning or thinking.",
            "audio_input": "Input tokens that were audio.",
            "audio_output": "Output tokens that were audio.",
            "image_input": "Input tokens that were images.",
            "image_output": "Output tokens that were images.",
        }
        # The billed units' families are registered here but get children only on first non-zero use.
        self.tokens = {
            field: counter(name, docs[field], token_labels)
            for field, name in {**TOKEN_FAMILIES, **BILLED_TOKEN_FAMILIES}.items()
        }
        self.server_tool_calls = counter(
            "llm_telemetry_server_tool_calls_total",
            "Server-side tool calls billed per call (web search, file search, ...).",
            (*base, "tool"),
        )
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
            BUILD_INFO_LABELS,
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

    def _counter(self, name: str, doc: str, labels: tuple[str, ...]) -> Counter:
        # Named as exposed; prometheus-client keeps the family name without ``_total``.
        metric: Counter = self._register(_Counter, name, doc, labels)
        return metric

    def _histogram(
        self, name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]
    ) -> Histogram:
        metric: Histogram = self._register(_Histogram, name, doc, labels, buckets=buckets)
        return metric

    def _register(self, cls: Any, name: str, doc: str, labels: tuple[str, ...], **kw: Any) -> Any:
        try:
            metric = cls(name, doc, labels, registry=self.registry, **kw)
        except ValueError as exc:
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

    def reregister(self) -> None:
        """Undo :meth:`unregister` (a re-configuration that failed keeps what was there)."""
        for metric in self._created:
            self.registry.register(metric)


def _adder(child: Any) -> Callable[[float], None]:
    """The child's value's own ``inc``: what ``Counter.inc`` / ``Gauge.inc`` end in, without their
    per-call checks (the amounts here are never negative for counters). Chosen once per child, the way
    prometheus-client chooses its value class once; the public method when the value is not reachable."""
    value = getattr(child, "_value", None)
    inc = getattr(value, "inc", None)
    return inc if callable(inc) else child.inc  # type: ignore[no-any-return]


#: What one observation of a histogram child does, bound once: ``(upper bounds, per-bucket adders,
#: the sum's adder)``; the bucket of ``x`` is ``adders[bisect_left(bounds, x)]``.
Observer = tuple[Sequence[float], tuple[Callable[[float], None], ...], Callable[[float], None]]


def _ignore(amount: float) -> None:
    """The bucket's adder when the child's values are not reachable (its ``observe`` does it all)."""


def _observer(child: Any) -> Observer:
    """``Histogram.observe`` without its per-call checks, the way :func:`_adder` binds ``inc``: the
    child's bucket values (not cumulative; exposition sums them) and its sum, or its public method."""
    bounds, buckets, total = (getattr(child, n, None) for n in ("_upper_bounds", "_buckets", "_sum"))
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        return (math.inf,), (_ignore,), child.observe
    return tuple(bounds), tuple(_adder(b) for b in buckets), _adder(total)


def _observe(observer: Observer, amount: float) -> None:
    bounds, buckets, add_sum = observer
    buckets[bisect_left(bounds, amount)](1)
    add_sum(amount)


class _Tokens:
    """Token and cost children of one base label set and response model."""

    __slots__ = ("cost", "counters", "families", "labels")

    def __init__(self, families: Families, labels: tuple[str, ...], fields: tuple[str, ...]) -> None:
        self.families = families
        self.labels = labels
        self.counters: dict[str, Callable[[float], None]] = {
            f: _adder(families.tokens[f].labels(*labels)) for f in fields
        }
        self.cost: dict[str, Callable[[float], None]] = {
            c: _adder(families.cost.labels(*labels, c))
            for c in PRECREATED_COST_COMPONENTS
            if c in fields or c == "request"
        }

    def token(self, field: str) -> Callable[[float], None]:
        """Adds to a token family (created on first use for the ones not pre-created)."""
        add = self.counters.get(field)
        if add is None:
            add = self.counters.setdefault(field, _adder(self.families.tokens[field].labels(*self.labels)))
        return add

    def component(self, name: str) -> Callable[[float], None]:
        """Adds to a cost component (created on first use for the ones not pre-created)."""
        add = self.cost.get(name)
        if add is None:
            add = self.cost.setdefault(name, _adder(self.families.cost.labels(*self.labels, name)))
        return add


class _Series:
    """Children bound for one admitted base label set and stream flag; created on first sight."""

    __slots__ = (
        "duration",
        "families",
        "finish",
        "in_flight",
        "key",
        "lazy",
        "models",
        "outcome",
        "precreated",
        "tokens",
        "tpot",
        "ttft",
        "unpriced",
    )

    def __init__(self, families: Families, key: tuple[str, ...], stream: bool) -> None:
        s = "true" if stream else "false"
        self.families = families
        self.key = key
        self.outcome = {o: _adder(families.requests.labels(*key, s, o)) for o in OUTCOMES}
        self.duration = _observer(families.duration.labels(*key, s))
        self.in_flight = _adder(families.in_flight.labels(*key))
        # Time to first token can only be observed on streams: no series for the others.
        self.ttft = _observer(families.ttft.labels(*key)) if stream else None
        self.tpot = _observer(families.tpot.labels(*key)) if stream else None
        self.unpriced = families.unpriced.labels(*key)  # at zero: "unpriced share" reads 0%
        self.precreated = _PRECREATED.get(key[2], _ALL_TOKENS)
        self.tokens: dict[str, _Tokens] = {}
        self.models: set[str] = set()
        #: (family, label value) -> child, for the closed-set families created on first use.
        self.lazy: dict[tuple[str, str], Any] = {}
        #: A provider's raw finish reason -> its adder.
        self.finish: dict[str, Callable[[float], None]] = {}

    def child(self, family: str, value: str) -> Any:
        """The child of a closed-set family (errors, retries, finish reasons, missing usage)."""
        found = self.lazy.get((family, value))
        if found is None:
            found = getattr(self.families, family).labels(*self.key, value)
            self.lazy[(family, value)] = found
        return found

    def finish_reason(self, raw: str) -> Callable[[float], None]:
        """Adds to a provider's raw finish reason's contract label, bound once."""
        found = self.finish.get(raw)
        if found is None:
            found = _adder(self.child("finish_reasons", finish_reason_label(raw)))
            if len(self.finish) < 64:  # raw values are the provider's: keep the cache bounded
                self.finish[raw] = found
        return found

    def tokens_for(self, response_model: str, lock: threading.Lock) -> _Tokens:
        """The token and cost children of a response model (as the response spelled it)."""
        found = self.tokens.get(response_model)
        if found is not None:
            return found
        model = model_label(response_model)
        with lock:
            if model not in self.models and len(self.models) >= MAX_RESPONSE_MODELS:
                model = OTHER
            self.models.add(model)
            found = self.tokens.get(model)
            if found is None:
                found = self.tokens[model] = _Tokens(self.families, (*self.key, model), self.precreated)
            if len(self.tokens) < 4 * MAX_RESPONSE_MODELS:
                self.tokens[response_model] = found  # the raw spelling too: one lookup next time
        return found


class PrometheusWriter:
    """Writes each call into the Prometheus families: in flight at begin, everything else at its end."""

    stage = "metrics"

    def __init__(self, families: Families, admission: Admission) -> None:
        self.families = families
        #: The admission the call keys were made with (a successor re-keys calls it takes over).
        self.admission = admission
        self._series: dict[tuple[tuple[str, ...], bool], _Series] = {}
        self._lock = threading.Lock()
        #: The writer that replaced this one when the label configuration changed: requests that
        #: were under way then are recorded there, in the families a scrape still sees.
        self.successor: PrometheusWriter | None = None

    def series(self, key: tuple[str, ...], stream: bool) -> _Series:
        """Bound children for an admitted base label set; created (at zero) on first sight."""
        found = self._series.get((key, stream))
        if found is None:
            with self._lock:
                found = self._series.get((key, stream))
                if found is None:
                    found = self._series[(key, stream)] = _Series(self.families, key, stream)
        return found

    def begin(self, call: Call, request: Request | None = None) -> None:
        series = self.series(call.key, call.stream)
        series.in_flight(1)
        call.series = series

    def retry(self, call: Call, error_type: str) -> None:
        if call.series is not None:
            call.series.child("retries", error_type).inc()

    def discard(self, call: Call) -> None:
        if call.series is not None:
            call.series.in_flight(-1)

    def internal_error(self, stage: str) -> None:
        self.families.internal_errors.labels(stage).inc()

    def end(self, call: Call, e: Ending) -> None:
        series = call.series
        if series is None:  # its begin failed (counted then)
            return
        if self.successor is not None:
            self._moved(call, e)
            return
        series.in_flight(-1)
        series.outcome[e.outcome](1)
        bounds, buckets, add_sum = series.duration
        took = e.time - call.start
        buckets[bisect_left(bounds, took)](1)
        add_sum(took)
        if e.error_type is not None:
            series.child("errors", e.error_type).inc()
        usage = e.usage
        if usage is None:
            if e.missing_reason is not None:
                series.child("usage_missing", e.missing_reason).inc()
        else:
            self._usage(series, usage, e, e.response_model or call.request_model)
        finish = series.finish
        for raw in e.finish_reasons:
            (finish.get(raw) or series.finish_reason(raw))(1)
        first = call.first_output
        if first is not None and series.ttft is not None:
            _observe(series.ttft, first - call.start)
            produced = usage.output if usage is not None else None
            if e.outcome == "success" and produced is not None and produced >= 2 and call.last_output > first:
                _observe(series.tpot, (call.last_output - first) / (produced - 1))  # type: ignore[arg-type]

    def _moved(self, call: Call, e: Ending) -> None:
        """Record a request begun under families that were replaced since, in the current ones."""
        writer = self
        while writer.successor is not None:
            writer = writer.successor
        call.key = writer.admission.key(call.provider, call.request_model, call.operation, call.attrs)
        writer.begin(call)
        writer.end(call, e)

    def _usage(self, series: _Series, usage: Usage, e: Ending, model: str) -> None:
        tokens = series.tokens.get(model) or series.tokens_for(model, self._lock)
        counters = tokens.counters
        for field in _ALL_TOKENS:
            value = getattr(usage, field)
            if value:
                (counters.get(field) or tokens.token(field))(value)
        billed = usage.billed
        if billed is not None:  # the v1.1 units: rare, so one check covers them all
            for field in BILLED_TOKEN_FAMILIES:
                value = getattr(billed, field)
                if value:
                    tokens.token(field)(value)
            for tool, calls in billed.tool_calls():
                series.child("server_tool_calls", tool).inc(calls)
        cost = e.cost
        if cost is not None:  # the v1.1 components can only be non-zero with billed units
            adders = tokens.cost
            for component in COST_COMPONENTS if billed is not None else PRECREATED_COST_COMPONENTS:
                amount = getattr(cost, component)
                if amount > 0:
                    (adders.get(component) or tokens.component(component))(amount)
        elif e.unpriced:
            series.unpriced.inc()
