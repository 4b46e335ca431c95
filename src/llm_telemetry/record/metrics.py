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
from prometheus_client.values import MutexValue

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
        #: Every cell of these families' children (see :class:`_Cell`) is added to under this lock.
        self.cells_lock = threading.Lock()
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


class _Cell:
    """A child's value in place of prometheus_client's ``MutexValue``: the writer adds to ``value``
    directly, every cell of a call under one lock, where ``inc()`` costs a method call and a lock per
    add (ten of them a call). ``inc``/``set``/``get`` keep the public methods of the child working."""

    __slots__ = ("exemplar", "lock", "value")

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.value = 0.0
        self.exemplar: Any = None

    def inc(self, amount: float) -> None:
        with self.lock:
            self.value += amount

    def set(self, value: float, timestamp: float | None = None) -> None:
        with self.lock:
            self.value = value

    def get(self) -> float:
        return self.value

    def set_exemplar(self, exemplar: Any) -> None:
        self.exemplar = exemplar

    def get_exemplar(self) -> Any:
        return self.exemplar


class _Through:
    """The same ``value`` over a value prometheus_client keeps elsewhere (multiprocess mode's mmap files):
    read and written through its ``get``/``set``, under the lock of the writer's cells."""

    __slots__ = ("lock", "source")

    def __init__(self, source: Any, lock: threading.Lock) -> None:
        self.source = source
        self.lock = lock

    @property
    def value(self) -> float:
        return float(self.source.get())

    @value.setter
    def value(self, value: float) -> None:
        self.source.set(value)

    def inc(self, amount: float) -> None:
        with self.lock:
            self.source.inc(amount)


class _Public:
    """The last resort, for a child whose values are not where prometheus_client keeps them today:
    ``value += x`` calls the child's public ``inc(x)`` (or ``observe(x)``); ``value`` reads as zero."""

    __slots__ = ("add",)

    def __init__(self, add: Callable[[float], Any]) -> None:
        self.add = add

    @property
    def value(self) -> float:
        return 0.0

    @value.setter
    def value(self, value: float) -> None:
        self.add(value)

    def inc(self, amount: float) -> None:
        self.add(amount)


Cell = _Cell | _Through | _Public


def _cell(value: Any, lock: threading.Lock) -> _Cell | _Through:
    """The cell to put in place of a child's value (chosen once per child)."""
    if type(value) is MutexValue:
        return _Cell(lock)
    if isinstance(value, (_Cell, _Through)):  # a child shared by two series (in flight, errors, ...)
        return value
    return _Through(value, lock)


def _value_cell(child: Any, lock: threading.Lock) -> Cell:
    """The cell of a counter's or gauge's child."""
    if not hasattr(child, "_value"):
        return _Public(child.inc)
    cell = child._value = _cell(child._value, lock)
    return cell


#: One histogram child: ``(upper bounds, bucket cells, sum cell)``; ``x`` goes to the bucket
#: ``bisect_left(bounds, x)`` (buckets are not cumulative: exposition sums them).
Observer = tuple[Sequence[float], tuple[Cell, ...], Cell]


def _ignore(amount: float) -> None:
    """A bucket when the child's values are not reachable (its ``observe`` does it all)."""


def _observer(child: Any, lock: threading.Lock) -> Observer:
    """The cells of a histogram child, or its public ``observe`` behind the sum's cell."""
    bounds, buckets, total = (getattr(child, n, None) for n in ("_upper_bounds", "_buckets", "_sum"))
    if not isinstance(buckets, list) or bounds is None or total is None or len(bounds) != len(buckets):
        return (math.inf,), (_Public(_ignore),), _Public(child.observe)
    buckets[:] = cells = [_cell(b, lock) for b in buckets]
    child._sum = total = _cell(total, lock)
    return tuple(bounds), tuple(cells), total


def _observe(observer: Observer, amount: float) -> None:
    """One observation (the caller holds the cells' lock)."""
    bounds, buckets, total = observer
    buckets[bisect_left(bounds, amount)].value += 1
    total.value += amount


class _Tokens:
    """Token and cost children of one base label set and response model."""

    __slots__ = ("cost", "counters", "families", "labels")

    def __init__(self, families: Families, labels: tuple[str, ...], fields: tuple[str, ...]) -> None:
        self.families = families
        self.labels = labels
        lock = families.cells_lock
        self.counters: dict[str, Cell] = {
            f: _value_cell(families.tokens[f].labels(*labels), lock) for f in fields
        }
        self.cost: dict[str, Cell] = {
            c: _value_cell(families.cost.labels(*labels, c), lock)
            for c in PRECREATED_COST_COMPONENTS
            if c in fields or c == "request"
        }

    def token(self, field: str) -> Cell:
        """A token family's cell (created on first use for the ones not pre-created)."""
        found = self.counters.get(field)
        if found is None:
            child = self.families.tokens[field].labels(*self.labels)
            found = self.counters.setdefault(field, _value_cell(child, self.families.cells_lock))
        return found

    def component(self, name: str) -> Cell:
        """A cost component's cell (created on first use for the ones not pre-created)."""
        found = self.cost.get(name)
        if found is None:
            child = self.families.cost.labels(*self.labels, name)
            found = self.cost.setdefault(name, _value_cell(child, self.families.cells_lock))
        return found


class _Series:
    """Cells bound for one admitted base label set and stream flag; created on first sight."""

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
        lock = families.cells_lock
        self.families = families
        self.key = key
        self.outcome = {o: _value_cell(families.requests.labels(*key, s, o), lock) for o in OUTCOMES}
        self.duration = _observer(families.duration.labels(*key, s), lock)
        self.in_flight = _value_cell(families.in_flight.labels(*key), lock)
        # Time to first token can only be observed on streams: no series for the others.
        self.ttft = _observer(families.ttft.labels(*key), lock) if stream else None
        self.tpot = _observer(families.tpot.labels(*key), lock) if stream else None
        self.unpriced = _value_cell(
            families.unpriced.labels(*key), lock
        )  # at zero: "unpriced share" reads 0%
        self.precreated = _PRECREATED.get(key[2], _ALL_TOKENS)
        self.tokens: dict[str, _Tokens] = {}
        self.models: set[str] = set()
        #: (family, label value) -> cell, for the closed-set families created on first use.
        self.lazy: dict[tuple[str, str], Cell] = {}
        #: A provider's raw finish reason -> its cell.
        self.finish: dict[str, Cell] = {}

    def cell(self, family: str, value: str) -> Cell:
        """The cell of a closed-set family's child (errors, retries, finish reasons, missing usage)."""
        found = self.lazy.get((family, value))
        if found is None:
            child = getattr(self.families, family).labels(*self.key, value)
            found = self.lazy[(family, value)] = _value_cell(child, self.families.cells_lock)
        return found

    def finish_reason(self, raw: str) -> Cell:
        """A provider's raw finish reason's cell (its contract label's), bound once."""
        found = self.finish.get(raw)
        if found is None:
            found = self.cell("finish_reasons", finish_reason_label(raw))
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
        series = self._series.get((call.key, call.stream)) or self.series(call.key, call.stream)
        series.in_flight.inc(1)
        call.series = series

    def retry(self, call: Call, error_type: str) -> None:
        if call.series is not None:
            call.series.cell("retries", error_type).inc(1)

    def discard(self, call: Call) -> None:
        if call.series is not None:
            call.series.in_flight.inc(-1)

    def internal_error(self, stage: str) -> None:
        self.families.internal_errors.labels(stage).inc()

    def end(self, call: Call, e: Ending) -> None:
        series = call.series
        if series is None:  # its begin failed (counted then)
            return
        if self.successor is not None:
            self._moved(call, e)
            return
        took = e.time - call.start
        usage = e.usage
        bounds, buckets, total = series.duration
        with self.families.cells_lock:  # every add of the call; nothing in here takes this lock again
            series.in_flight.value -= 1
            series.outcome[e.outcome].value += 1
            buckets[bisect_left(bounds, took)].value += 1
            total.value += took
            if e.error_type is not None:
                series.cell("errors", e.error_type).value += 1
            if usage is None:
                if e.missing_reason is not None:
                    series.cell("usage_missing", e.missing_reason).value += 1
            else:
                self._usage(series, usage, e, e.response_model or call.request_model)
            finish = series.finish
            for raw in e.finish_reasons:
                (finish.get(raw) or series.finish_reason(raw)).value += 1
            first = call.first_output
            if first is not None and series.ttft is not None:
                _observe(series.ttft, first - call.start)
                produced = usage.output if usage is not None else None
                if (
                    e.outcome == "success"
                    and produced is not None
                    and produced >= 2
                    and call.last_output > first
                ):
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
        """Tokens and cost (the caller holds the cells' lock)."""
        tokens = series.tokens.get(model) or series.tokens_for(model, self._lock)
        counters = tokens.counters
        for field in _ALL_TOKENS:
            value = getattr(usage, field)
            if value:
                (counters.get(field) or tokens.token(field)).value += value
        billed = usage.billed
        if billed is not None:  # the v1.1 units: rare, so one check covers them all
            for field in BILLED_TOKEN_FAMILIES:
                value = getattr(billed, field)
                if value:
                    tokens.token(field).value += value
            for tool, calls in billed.tool_calls():
                series.cell("server_tool_calls", tool).value += calls
        cost = e.cost
        if cost is not None:  # the v1.1 components can only be non-zero with billed units
            cells = tokens.cost
            for component in COST_COMPONENTS if billed is not None else PRECREATED_COST_COMPONENTS:
                amount = getattr(cost, component)
                if amount > 0:
                    (cells.get(component) or tokens.component(component)).value += amount
        elif e.unpriced:
            series.unpriced.value += 1
