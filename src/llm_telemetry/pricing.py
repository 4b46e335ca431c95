"""Cost of one normalized :class:`~llm_telemetry.usage.Usage`, split into non-overlapping components.

Prices come from the snapshot bundled with the ``genai-prices`` package (never fetched: its
``UpdatePrices`` is not started), with user overrides winning over it. The components are the contract's
``llm_telemetry_cost_usd_total{component}`` values:

* ``input``: uncached input tokens (``input - cache_read - cache_write``) at the input rate;
* ``cache_read``: cache-read tokens at the cache-read rate (the input rate when the model has none);
* ``cache_write``: cache-write tokens at the cache-write rate (the input rate when the model has none),
  Anthropic 1h-TTL writes at their own rate where the price data has one;
* ``output``: output tokens, reasoning included (at a reasoning rate where the price data has one);
* ``request``: per-request fees.

Long-context tiers follow genai-prices: once the request's total input (cache reads and writes
included) exceeds a tier's threshold, that tier's rate applies to every token of the priced kind.
The components therefore sum to what ``genai_prices.calc_price`` says for the same usage.

A (provider, model) pair is resolved to compiled float rates once and cached (unknown models too), so
a priced call costs a few attribute reads and multiplications.
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

from llm_telemetry.usage import Usage

if TYPE_CHECKING:
    from genai_prices import types as gp_types

__all__ = ["COMPONENTS", "Cost", "ModelPrice", "Pricer", "load_overrides"]

#: Cost components in contract order; they never overlap, so their sum is the total.
COMPONENTS: Final = ("input", "cache_read", "cache_write", "output", "request")

#: OTel ``gen_ai.provider.name`` values (and common LiteLLM provider names) -> genai-prices provider ids.
_PROVIDER_IDS: Final[Mapping[str, str]] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "azure": "azure",
    "azure_ai": "azure",
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "gemini": "google",
    "deepseek": "deepseek",
    "groq": "groq",
    "mistral_ai": "mistral",
    "mistral": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "perplexity": "perplexity",
    "together_ai": "together",
    "together": "together",
    "fireworks_ai": "fireworks",
    "fireworks": "fireworks",
    "openrouter": "openrouter",
    "cerebras": "cerebras",
    "moonshot": "moonshotai",
    "moonshotai": "moonshotai",
    "novita": "novita",
    "databricks": "databricks",
    "cloudflare": "cloudflare",
    "voyage": "voyageai",
    "voyageai": "voyageai",
}

_MAX_CACHE: Final = 4096
_now = time.time  # request time for time-dependent prices (tests replace it)
_PER_MTOK: Final = 1_000_000.0


@dataclass(frozen=True, slots=True)
class Cost:
    """Estimated USD spend of one billed response, by non-overlapping component."""

    input: float
    cache_read: float
    cache_write: float
    output: float
    request: float

    @property
    def total(self) -> float:
        return self.input + self.cache_read + self.cache_write + self.output + self.request

    def components(self) -> tuple[tuple[str, float], ...]:
        """``(("input", x), ("cache_read", y), ...)`` in contract order."""
        return (
            ("input", self.input),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("output", self.output),
            ("request", self.request),
        )


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
    """Flat per-token rates of one price regime; ``tiers`` holds the long-context regimes."""

    __slots__ = (
        "cache_read",
        "cache_write",
        "cache_write_1h",
        "cache_write_5m",
        "input",
        "output",
        "reasoning",
        "request",
        "tiers",
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
    ) -> None:
        self.input = input
        self.cache_read = cache_read
        self.cache_write = cache_write
        self.cache_write_5m = cache_write_5m
        self.cache_write_1h = cache_write_1h
        self.output = output
        self.reasoning = reasoning
        self.request = request
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
        if uncached < 0:
            uncached = 0
        if write and (usage.cache_write_1h or usage.cache_write_5m):
            w1h = min(usage.cache_write_1h or 0, write)
            w5m = min(usage.cache_write_5m or 0, write - w1h)
            write_cost = (write - w1h - w5m) * r.cache_write + w5m * r.cache_write_5m + w1h * r.cache_write_1h
        else:
            write_cost = write * r.cache_write
        out = usage.output or 0
        reasoning = usage.reasoning
        if reasoning and r.reasoning != r.output:
            reasoning = min(reasoning, out)
            output_cost = (out - reasoning) * r.output + reasoning * r.reasoning
        else:
            output_cost = out * r.output
        return Cost(uncached * r.input, read * r.cache_read, write_cost, output_cost, r.request)


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
    request = get("requests_kcount", 1000.0) or 0.0
    return _Rates(
        inp,
        inp if read is None else read,
        write,
        write if w5m is None else w5m,
        write if w1h is None else w1h,
        out,
        out if reasoning is None else reasoning,
        request,
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


def _find_model(provider: str, ref: str) -> gp_types.ModelInfo | None:
    from genai_prices.data_snapshot import find_provider_by_id

    providers = _bundled_providers()
    if provider:
        gp_provider = find_provider_by_id(providers, _PROVIDER_IDS.get(provider, provider))
        if gp_provider is not None:
            model = gp_provider.find_model(ref, all_providers=providers)
            if model is not None:
                return model
    # Model-only matching, like genai-prices without a provider: the first provider claiming the name.
    for gp_provider in providers:
        if gp_provider.model_match is not None and gp_provider.model_match.is_match(ref):
            model = gp_provider.find_model(ref, all_providers=providers)
            if model is not None:
                return model
    return None


# --------------------------------------------------------------------------------------------------
# Pricer


class Pricer:
    """Prices normalized usage; lookups are cached per (provider, model), unknown ones included."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self._overrides: dict[str, _Rates] = {
            _normalize_model(name): _compile_override(price) for name, price in (overrides or {}).items()
        }
        self._cache: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        self._version: str | None = None

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

    def price(self, provider: str, model: str, usage: Usage) -> Cost | None:
        """The cost of ``usage``, or None when the model has no known price. Never raises."""
        try:
            try:
                entry = self._cache[(provider, model)]
            except KeyError:
                entry = self._resolve(provider, model)
            if entry is None:
                return None
            if isinstance(entry, _Timed):
                entry = entry.select(_now())
            return entry.cost(usage)
        except Exception:
            return None

    def _resolve(self, provider: str, model: str) -> _Entry:
        try:
            entry = self._lookup(provider, model)
        except Exception:
            entry = None
        with self._lock:
            cache = self._cache
            if len(cache) >= _MAX_CACHE:
                del cache[next(iter(cache))]  # oldest first
            cache[(provider, model)] = entry
        return entry

    def _lookup(self, provider: str, model: str) -> _Entry:
        ref = _normalize_model(model)
        if not ref:
            return None
        override = self._overrides.get(ref)
        if override is not None:
            return override
        prov = provider.strip().lower() if isinstance(provider, str) else ""
        found = _find_model(prov, ref)
        if found is None and "/" in ref:
            # "openai/gpt-4o", "models/gemini-1.5-pro", "accounts/x/models/y": retry the last segment.
            tail = ref.rsplit("/", 1)[1]
            override = self._overrides.get(tail)
            if override is not None:
                return override
            found = _find_model(prov, tail) if tail else None
        return None if found is None else _compile_model(found)
