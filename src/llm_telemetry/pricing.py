"""Cost of one normalized :class:`~llm_telemetry.usage.Usage`, split into non-overlapping components.

Prices come from the snapshot bundled with the ``genai-prices`` package (never fetched: its
``UpdatePrices`` is not started), with user overrides winning over it. The components are the contract's
``llm_telemetry_cost_usd_total{component}`` values (v1.1):

* ``input``: uncached text input tokens (``input - cache_read - cache_write - audio - image``);
* ``cache_read``: cache-read tokens at the cache-read rate (the input rate when the model has none);
* ``cache_write``: cache-write tokens at the cache-write rate (the input rate when the model has none),
  Anthropic 1h-TTL writes at their own rate where the price data has one;
* ``output``: text output tokens, reasoning included (at a reasoning rate where the price data has one);
* ``audio_input`` / ``audio_output`` / ``image_input`` / ``image_output``: those tokens at their own
  rates (genai-prices ``input_audio_mtok`` ...), or at the text rate where the model has none, as
  genai-prices itself prices them;
* ``tool``: server tool calls at their per-call price (genai-prices ``web_searches_kcount`` for web
  search, ``storage_searches_kcount`` for file search, ``code_executions_kcount``; web fetch and other
  tools have no per-call price there and cost 0 beyond their tokens);
* ``request``: per-request fees;
* ``reported``: the amount the provider itself says it billed (OpenRouter ``usage.cost``, xAI
  ``cost_in_usd_ticks``). It is the whole cost: every other component is then 0, and ``Cost.source``
  says ``reported`` rather than ``computed``.

The price context is the response's: a service tier (``flex``, ``priority``, ``batch``...) or
Anthropic's ``speed="fast"`` selects genai-prices' price variants for the model; long-context tiers
follow genai-prices (once the request's total input, cache included, exceeds a tier's threshold, that
tier's rate applies to every token of the priced kind). The components therefore sum to what
``genai_prices.calc_price`` says for the same usage and context.

A (provider, model, server address) is resolved to compiled float rates once and cached (unknown
models too), and so is each price context of it, so a priced call costs a few attribute reads and
multiplications. No cost is invented: an open-weight model at a self-hosted address is priced only
by ``price_overrides`` (see :func:`llm_telemetry.providers.priced_by_name`).

Errors are not swallowed here: a failure inside pricing raises, and the caller counts it as an
internal error (stage ``price``) instead of reporting "no price known".
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import pydantic

from .contract import COST_COMPONENTS, COST_SOURCES
from .providers import price_id, priced_by_name
from .usage import Billed, Usage

if TYPE_CHECKING:
    from genai_prices import types as gp_types

__all__ = [
    "COMPONENTS",
    "COMPUTED",
    "REPORTED",
    "Cost",
    "ModelPrice",
    "Pricer",
    "load_overrides",
    "price_context",
    "reported_cost",
]

#: Cost components in contract order; they never overlap, so their sum is the total.
COMPONENTS: Final = COST_COMPONENTS
#: ``Cost.source`` values (span attribute ``llm_telemetry.cost.source``).
COMPUTED, REPORTED = COST_SOURCES

_MAX_CACHE: Final = 4096
_now = time.time  # request time for time-dependent prices (tests replace it)
_PER_MTOK: Final = 1_000_000.0


@dataclass(frozen=True, slots=True)
class Cost:
    """USD spend of one billed response, by non-overlapping component, and where the amount comes from."""

    input: float
    cache_read: float
    cache_write: float
    output: float
    request: float
    audio_input: float = 0.0
    audio_output: float = 0.0
    image_input: float = 0.0
    image_output: float = 0.0
    tool: float = 0.0
    reported: float = 0.0
    #: ``computed`` from prices, or ``reported`` by the provider (then ``reported`` is the whole cost).
    source: str = COMPUTED

    @property
    def total(self) -> float:
        return (
            self.input
            + self.cache_read
            + self.cache_write
            + self.output
            + self.audio_input
            + self.audio_output
            + self.image_input
            + self.image_output
            + self.tool
            + self.request
            + self.reported
        )

    def components(self) -> tuple[tuple[str, float], ...]:
        """``(("input", x), ("cache_read", y), ...)`` in contract order (:data:`COMPONENTS`)."""
        return (
            ("input", self.input),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("output", self.output),
            ("audio_input", self.audio_input),
            ("audio_output", self.audio_output),
            ("image_input", self.image_input),
            ("image_output", self.image_output),
            ("tool", self.tool),
            ("request", self.request),
            ("reported", self.reported),
        )


class _CostBuilder:
    """The slots of :class:`Cost`, assignable: filled on the hot path, then relabelled as a ``Cost``
    (identical layout), which skips the frozen ``__init__``'s ``object.__setattr__`` per field."""

    __slots__ = Cost.__slots__


def _computed(
    input: float,
    cache_read: float,
    cache_write: float,
    output: float,
    request: float,
    audio_input: float = 0.0,
    audio_output: float = 0.0,
    image_input: float = 0.0,
    image_output: float = 0.0,
    tool: float = 0.0,
) -> Cost:
    """A computed :class:`Cost` (no ``__init__`` frame: the slots are set here)."""
    built: Any = object.__new__(_CostBuilder)
    built.input = input
    built.cache_read = cache_read
    built.cache_write = cache_write
    built.output = output
    built.request = request
    built.audio_input = audio_input
    built.audio_output = audio_output
    built.image_input = image_input
    built.image_output = image_output
    built.tool = tool
    built.reported = 0.0
    built.source = COMPUTED
    built.__class__ = Cost
    return built  # type: ignore[no-any-return]


def reported_cost(amount: float) -> Cost:
    """The cost of a response whose provider reported what it billed: all of it in ``reported``."""
    return Cost(0.0, 0.0, 0.0, 0.0, 0.0, reported=amount, source=REPORTED)


# --------------------------------------------------------------------------------------------------
# User overrides


_Price = Annotated[pydantic.StrictFloat, pydantic.Field(ge=0, allow_inf_nan=False)]


class ModelPrice(pydantic.BaseModel):
    """A user price for one model, in USD per million tokens (``request``: USD per request)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    input_mtok: _Price
    output_mtok: _Price
    #: None: cache reads cost the input rate.
    cache_read_mtok: _Price | None = None
    #: None: cache writes cost the input rate.
    cache_write_mtok: _Price | None = None
    request: _Price = 0.0


def _normalize_model(name: str) -> str:
    return name.strip().lower()


def load_overrides(source: str | Path | Mapping[str, Any]) -> dict[str, ModelPrice]:
    """Price overrides ``{model_name: {input_mtok: ..., output_mtok: ..., ...}}``.

    ``source`` is a mapping, a path to a JSON or TOML (``.toml``) file, or a JSON object as a string
    (handy in an environment variable). Keys are normalized (stripped, lower-cased). Any problem raises
    ``ValueError`` naming the file, model and field.
    """
    where = "price overrides"
    if isinstance(source, Mapping):
        raw: Any = source
    elif isinstance(source, (str, Path)):
        if isinstance(source, str) and source.lstrip().startswith("{"):
            raw = _parse_json(source, where)
        else:
            path = Path(source).expanduser()
            where = f"price overrides file {str(path)!r}"
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"cannot read {where}: {exc.strerror or exc}") from None
            raw = _parse_toml(text, where) if path.suffix.lower() == ".toml" else _parse_json(text, where)
    else:
        raise ValueError(f"{where}: expected a mapping or a JSON/TOML file path, got {type(source).__name__}")

    if not isinstance(raw, Mapping):
        raise ValueError(
            f"{where}: expected an object mapping model names to prices, got {type(raw).__name__}"
        )

    result: dict[str, ModelPrice] = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where}: model names must be non-empty strings, got {name!r}")
        key = _normalize_model(name)
        if key in result:
            raise ValueError(f"{where}: model {name!r} is listed twice (names are compared lower-cased)")
        if isinstance(spec, ModelPrice):
            result[key] = spec
            continue
        if not isinstance(spec, Mapping):
            raise ValueError(
                f"{where}: model {name!r}: expected an object of prices, got {type(spec).__name__}"
            )
        try:
            result[key] = ModelPrice.model_validate(dict(spec))
        except pydantic.ValidationError as exc:
            raise ValueError(f"{where}: model {name!r}: {_describe(exc)}") from None
    return result


def _describe(exc: pydantic.ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "(prices)"
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(ModelPrice.model_fields)
            problems.append(f"unknown field {field!r} (allowed: {allowed})")
        elif error["type"] == "missing":
            problems.append(f"field {field!r} is required")
        else:
            problems.append(f"field {field!r}: {error['msg']} (got {error.get('input')!r})")
    return "; ".join(problems)


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where}: invalid JSON: {exc}") from None


def _parse_toml(text: str, where: str) -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
        except ModuleNotFoundError:
            raise ValueError(f"{where}: reading TOML needs Python >= 3.11 or the 'tomli' package") from None
    try:
        return tomllib.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where}: invalid TOML: {exc}") from None


# --------------------------------------------------------------------------------------------------
# Compiled rates (USD per token, floats)


class _Rates:
    """Flat per-unit rates of one price regime; ``tiers`` holds the long-context regimes."""

    __slots__ = (
        "audio_input",
        "audio_output",
        "cache_read",
        "cache_write",
        "cache_write_1h",
        "cache_write_5m",
        "code_execution",
        "file_search",
        "image_input",
        "image_output",
        "input",
        "output",
        "reasoning",
        "request",
        "tiers",
        "web_search",
    )

    def __init__(
        self,
        input: float,
        cache_read: float,
        cache_write: float,
        cache_write_5m: float,
        cache_write_1h: float,
        output: float,
        reasoning: float,
        request: float,
        *,
        audio_input: float | None = None,
        audio_output: float | None = None,
        image_input: float | None = None,
        image_output: float | None = None,
        web_search: float = 0.0,
        file_search: float = 0.0,
        code_execution: float = 0.0,
    ) -> None:
        self.input = input
        self.cache_read = cache_read
        self.cache_write = cache_write
        self.cache_write_5m = cache_write_5m
        self.cache_write_1h = cache_write_1h
        self.output = output
        self.reasoning = reasoning
        self.request = request
        # A modality without a rate of its own costs the text rate, as genai-prices prices it.
        self.audio_input = input if audio_input is None else audio_input
        self.audio_output = output if audio_output is None else audio_output
        self.image_input = input if image_input is None else image_input
        self.image_output = output if image_output is None else image_output
        #: Per call.
        self.web_search = web_search
        self.file_search = file_search
        self.code_execution = code_execution
        #: ``((threshold, rates), ...)`` highest threshold first: rates used when input > threshold.
        self.tiers: tuple[tuple[int, _Rates], ...] = ()

    def cost(self, usage: Usage) -> Cost:
        inp = usage.input or 0
        r = self
        for start, tier in self.tiers:
            if inp > start:
                r = tier
                break
        read = usage.cache_read or 0
        write = usage.cache_write or 0
        uncached = inp - read - write
        if write and (usage.cache_write_1h or usage.cache_write_5m):
            w1h = min(usage.cache_write_1h or 0, write)
            w5m = min(usage.cache_write_5m or 0, write - w1h)
            write_cost = (write - w1h - w5m) * r.cache_write + w5m * r.cache_write_5m + w1h * r.cache_write_1h
        else:
            write_cost = write * r.cache_write
        out = usage.output or 0
        billed = usage.billed
        if billed is None:
            return _computed(
                uncached * r.input if uncached > 0 else 0.0,
                read * r.cache_read,
                write_cost,
                out * r.output if r.reasoning == r.output else r.output_cost(out, usage.reasoning),
                r.request,
            )
        audio_in, image_in = billed.audio_input or 0, billed.image_input or 0
        audio_out, image_out = billed.audio_output or 0, billed.image_output or 0
        text_in = uncached - audio_in - image_in
        tools = (
            (billed.web_search_calls or 0) * r.web_search
            + (billed.file_search_calls or 0) * r.file_search
            + (billed.code_interpreter_calls or 0) * r.code_execution
        )
        return _computed(
            text_in * r.input if text_in > 0 else 0.0,
            read * r.cache_read,
            write_cost,
            r.output_cost(max(out - audio_out - image_out, 0), usage.reasoning),
            r.request,
            audio_in * r.audio_input,
            audio_out * r.audio_output,
            image_in * r.image_input,
            image_out * r.image_output,
            tools,
        )

    def output_cost(self, out: int, reasoning: int | None) -> float:
        """Text output, reasoning at its own rate where the price data has one."""
        if reasoning and self.reasoning != self.output:
            reasoning = min(reasoning, out)
            return (out - reasoning) * self.output + reasoning * self.reasoning
        return out * self.output


class _Timed:
    """Rates that change with the request time (genai-prices ``ConditionalPrice`` lists)."""

    __slots__ = ("choices", "default")

    def __init__(
        self,
        choices: tuple[tuple[float, Callable[[datetime], bool] | None, _Rates], ...],
        default: _Rates,
    ) -> None:
        #: Last listed price first (it takes precedence): ``(start_epoch, predicate, rates)``; a
        #: choice applies when its predicate is None and now >= start_epoch, or its predicate holds.
        self.choices = choices
        self.default = default

    def select(self, now: float) -> _Rates:
        for start, active, rates in self.choices:
            if active is None:
                if now >= start:
                    return rates
            elif active(datetime.fromtimestamp(now, timezone.utc)):
                return rates
        return self.default


class _InContext:
    """A model's rates under one price context: genai-prices' price variants over its time-selected
    prices, compiled once per day of the request (per minute where a price depends on the time of day)."""

    __slots__ = ("context", "memo", "model", "period")

    def __init__(self, model: gp_types.ModelInfo, context: Mapping[str, str]) -> None:
        self.model = model
        self.context = context
        self.memo: dict[int, _Rates | None] = {}
        self.period = 60.0 if _time_of_day(model) else 86400.0

    def select(self, now: float) -> _Rates | None:
        key = int(now // self.period)
        try:
            return self.memo[key]
        except KeyError:
            pass
        prices = self.model.get_prices(datetime.fromtimestamp(now, timezone.utc), self.context)
        rates = _compile_price(prices)
        if len(self.memo) >= 8:
            self.memo.clear()
        self.memo[key] = rates
        return rates


def _time_of_day(model: gp_types.ModelInfo) -> bool:
    from genai_prices.types import TimeOfDateConstraint

    constraints = [cp.constraint for cp in model.prices] if isinstance(model.prices, list) else []
    constraints += [variant.constraint for variant in model.price_variants or ()]
    return any(isinstance(constraint, TimeOfDateConstraint) for constraint in constraints)


_Entry = _Rates | _Timed | None

_PRICE_KEYS: Final = (
    "input_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "cache_write_5m_mtok",
    "cache_write_1h_mtok",
    "output_mtok",
    "output_reasoning_mtok",
    "requests_kcount",
    "input_audio_mtok",
    "output_audio_mtok",
    "input_image_mtok",
    "output_image_mtok",
    "web_searches_kcount",
    "storage_searches_kcount",
    "code_executions_kcount",
)


def _compile_override(p: ModelPrice) -> _Rates:
    inp = p.input_mtok / _PER_MTOK
    out = p.output_mtok / _PER_MTOK
    read = inp if p.cache_read_mtok is None else p.cache_read_mtok / _PER_MTOK
    write = inp if p.cache_write_mtok is None else p.cache_write_mtok / _PER_MTOK
    return _Rates(inp, read, write, write, write, out, out, p.request)


def _flat(value: object, threshold: int | None) -> float | None:
    """A genai-prices price (Decimal or TieredPrices) in the regime "input > threshold"."""
    if value is None:
        return None
    from genai_prices.types import TieredPrices

    if isinstance(value, TieredPrices):
        price: Decimal = value.base
        if threshold is not None:
            for tier in value.tiers:  # sorted ascending by genai-prices
                if tier.start <= threshold:
                    price = tier.price
        return float(price)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"unexpected price value {value!r}")


def _compile_regime(mp: gp_types.ModelPrice, threshold: int | None) -> _Rates:
    def get(key: str, per: float = _PER_MTOK) -> float | None:
        value = _flat(getattr(mp, key, None), threshold)
        return None if value is None else value / per

    inp = get("input_mtok") or 0.0
    read = get("cache_read_mtok")
    write = get("cache_write_mtok")
    write = inp if write is None else write
    w5m = get("cache_write_5m_mtok")
    w1h = get("cache_write_1h_mtok")
    out = get("output_mtok") or 0.0
    reasoning = get("output_reasoning_mtok")
    return _Rates(
        inp,
        inp if read is None else read,
        write,
        write if w5m is None else w5m,
        write if w1h is None else w1h,
        out,
        out if reasoning is None else reasoning,
        get("requests_kcount", 1000.0) or 0.0,
        audio_input=get("input_audio_mtok"),
        audio_output=get("output_audio_mtok"),
        image_input=get("input_image_mtok"),
        image_output=get("output_image_mtok"),
        web_search=get("web_searches_kcount", 1000.0) or 0.0,
        file_search=get("storage_searches_kcount", 1000.0) or 0.0,
        code_execution=get("code_executions_kcount", 1000.0) or 0.0,
    )


def _compile_price(mp: gp_types.ModelPrice) -> _Rates | None:
    from genai_prices.types import TieredPrices

    values = {key: getattr(mp, key, None) for key in _PRICE_KEYS}
    token_priced = any(values[key] is not None for key in ("input_mtok", "output_mtok", "requests_kcount"))
    priced = any(value is not None for name, value in vars(mp).items() if not name.startswith("_"))
    if priced and not token_priced:
        return None  # priced in units a token usage cannot express (characters, audio hours, ...)
    # (No price at all is a free model, ":free" variants and subscription-included ones: it costs 0.)
    base = _compile_regime(mp, None)
    thresholds = sorted(
        {tier.start for value in values.values() if isinstance(value, TieredPrices) for tier in value.tiers},
        reverse=True,
    )
    base.tiers = tuple((start, _compile_regime(mp, start)) for start in thresholds)
    return base


def _compile_model(model: gp_types.ModelInfo) -> _Entry:
    from genai_prices.types import ModelPrice as GpModelPrice
    from genai_prices.types import StartDateConstraint

    if isinstance(model.prices, GpModelPrice):
        return _compile_price(model.prices)
    if not model.prices:
        return None
    compiled = [_compile_price(cp.prices) for cp in model.prices]
    if any(rates is None for rates in compiled):
        return None
    choices: list[tuple[float, Callable[[datetime], bool] | None, _Rates]] = []
    for cp, rates in zip(reversed(model.prices), reversed(compiled), strict=True):
        assert rates is not None
        constraint = cp.constraint
        if constraint is None:
            choices.append((-math.inf, None, rates))
            break  # an unconditional price hides every earlier one
        if isinstance(constraint, StartDateConstraint):
            choices.append((_utc_midnight(constraint.start_date), None, rates))
        else:
            choices.append((math.inf, constraint.active, rates))
    default = compiled[0]
    assert default is not None
    if len(choices) == 1 and choices[0][0] == -math.inf:
        return choices[0][2]
    return _Timed(tuple(choices), default)


def _utc_midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


@lru_cache(maxsize=1)
def _bundled_providers() -> list[gp_types.Provider]:
    """The provider list of the snapshot shipped inside genai-prices (no network)."""
    from genai_prices.data import providers

    return providers


def _gp_provider(provider: str) -> gp_types.Provider | None:
    from genai_prices.data_snapshot import find_provider_by_id

    return find_provider_by_id(_bundled_providers(), price_id(provider)) if provider else None


def _find_model(provider: str, ref: str) -> gp_types.ModelInfo | None:
    providers = _bundled_providers()
    gp_provider = _gp_provider(provider)
    if gp_provider is not None:
        model = gp_provider.find_model(ref, all_providers=providers)
        if model is not None:
            return model
    # Model-only matching, like genai-prices without a provider: the first provider claiming the name.
    for candidate in providers:
        if candidate.model_match is not None and candidate.model_match.is_match(ref):
            model = candidate.find_model(ref, all_providers=providers)
            if model is not None:
                return model
    return None


def price_context(billed: Billed) -> dict[str, str]:
    """genai-prices' price context for a response's service tier and speed."""
    context: dict[str, str] = {}
    tier = billed.service_tier
    if tier == "batch":
        context["processing"] = "batch"
    elif tier is not None:
        context["service_tier"] = tier
    if billed.speed is not None:
        context["speed"] = billed.speed
    return context


class _Resolved:
    """What one (provider, model, address) prices as: its rates, and its price contexts on demand."""

    __slots__ = ("base", "contexts", "model")

    def __init__(self, base: _Entry, model: gp_types.ModelInfo | None = None) -> None:
        self.base = base
        #: The genai-prices model when its own provider lists it (price variants apply only then).
        self.model = model
        #: (service_tier, speed) -> entry; both come from small fixed sets, so this stays small.
        self.contexts: dict[tuple[str | None, str | None], _Entry | _InContext] = {}

    def in_context(self, billed: Billed) -> _Entry | _InContext:
        key = (billed.service_tier, billed.speed)
        found = self.contexts.get(key)
        if found is None:
            context = price_context(billed)
            model = self.model
            variants = () if model is None or self.base is None else model.price_variants or ()
            if any(all(context.get(k) == v for k, v in variant.when.items()) for variant in variants):
                assert model is not None
                found = _InContext(model, context)
            else:
                found = self.base
            self.contexts[key] = found
        return found


# --------------------------------------------------------------------------------------------------
# Pricer


class Pricer:
    """Prices normalized usage; lookups are cached per (provider, model, address), unknown ones included."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self._overrides: dict[str, _Rates] = {
            _normalize_model(name): _compile_override(price) for name, price in (overrides or {}).items()
        }
        self._cache: dict[tuple[str, str, str | None], _Resolved] = {}
        self._lock = threading.Lock()
        self._version: str | None = None
        # Import the price data now, at instrument(), not lazily inside a call: an import inside a
        # call takes the import lock, and a fork() while another thread holds it deadlocks the child.
        import genai_prices.data_snapshot
        import genai_prices.types  # noqa: F401

        _bundled_providers()

    @property
    def version(self) -> str:
        """Price data version for ``build_info``, e.g. ``"genai-prices 0.2.3"``."""
        if self._version is None:
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as dist_version

            try:
                self._version = f"genai-prices {dist_version('genai-prices')}"
            except PackageNotFoundError:
                self._version = "genai-prices unknown"
        return self._version

    def price(self, provider: str, model: str, usage: Usage, address: str | None = None) -> Cost | None:
        """The cost of ``usage``, or None when no price is known (no cost is invented).

        ``address`` is the server's (``server.address``): at a self-hosted one, an open-weight model is
        priced only by the overrides. A provider-reported amount is the cost whatever the model.
        Raises on internal errors; the caller counts them.
        """
        billed = usage.billed
        if billed is not None and billed.reported_cost is not None:
            return reported_cost(billed.reported_cost)
        if type(model) is not str:
            return None
        try:
            resolved = self._cache[(provider, model, address)]
        except KeyError:
            resolved = self._resolve(provider, model, address)
        if billed is None or (billed.service_tier is None and billed.speed is None):
            entry: _Entry | _InContext = resolved.base
        else:
            entry = resolved.in_context(billed)
        if entry is None:
            return None
        if isinstance(entry, _Rates):
            return entry.cost(usage)
        rates = entry.select(_now())
        return None if rates is None else rates.cost(usage)

    def _resolve(self, provider: str, model: str, address: str | None) -> _Resolved:
        resolved = self._lookup(provider, model, address)
        with self._lock:
            cache = self._cache
            if len(cache) >= _MAX_CACHE:
                del cache[next(iter(cache))]  # oldest first
            cache[(provider, model, address)] = resolved
        return resolved

    def _lookup(self, provider: str, model: str, address: str | None) -> _Resolved:
        ref = _normalize_model(model)
        if not ref:
            return _Resolved(None)
        tail = ref.rsplit("/", 1)[1] if "/" in ref else ""
        override = self._overrides.get(ref) or (self._overrides.get(tail) if tail else None)
        if override is not None:
            return _Resolved(override)
        prov = provider.strip().lower() if isinstance(provider, str) else ""
        if not priced_by_name(prov, address, ref):
            return _Resolved(None)  # an open-weight model on the user's own hardware
        found = _find_model(prov, ref)
        if found is None and tail:
            # "openai/gpt-4o", "models/gemini-1.5-pro", "accounts/x/models/y": retry the last segment.
            found = _find_model(prov, tail)
        if found is None:
            return _Resolved(None)
        gp_provider = _gp_provider(prov)
        own = gp_provider is not None and any(found is m for m in gp_provider.models)
        return _Resolved(_compile_model(found), found if own else None)
