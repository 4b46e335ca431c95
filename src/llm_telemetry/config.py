"""Configuration: keyword arguments of ``instrument()`` merged over ``LLM_TELEMETRY_*`` variables.

Validated once, at ``instrument()``: a bad value raises :class:`ConfigError` naming the option, where
it came from and what is accepted, so nothing can go wrong later inside a user's LLM call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict
from urllib.parse import urlsplit

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["ConfigError", "Options", "Settings"]

#: Options that are objects, not values: keyword arguments only, never read from the environment.
_OBJECT_OPTIONS = frozenset({"registry", "tracer_provider", "meter_provider"})

ENV_PREFIX = "LLM_TELEMETRY_"
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABELS = frozenset(
    {
        "provider",
        "request_model",
        "response_model",
        "operation",
        "stream",
        "outcome",
        "error_type",
        "component",
        "reason",
        "finish_reason",
        "stage",
        "le",
        "quantile",
        "job",
        "instance",
        "family",
    }
)


class ConfigError(ValueError):
    """A configuration value that ``instrument()`` cannot accept."""


class Settings(BaseModel):
    """Every option of ``instrument()``; each also reads ``LLM_TELEMETRY_<NAME>``."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    metrics: bool = True
    """Record Prometheus families."""
    tracing: bool = True
    """Emit one OpenTelemetry span per request through the global TracerProvider."""
    otel_metrics: bool = True
    """Also record ``gen_ai.client.*`` OTel metrics on the global MeterProvider."""
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """Serve ``/metrics`` on this port (0 picks a free one); None serves nothing."""
    metrics_address: str = "127.0.0.1"
    """Address the ``/metrics`` server binds to."""
    metric_attributes: tuple[str, ...] = ()
    """Attribution names (from ``llm_telemetry.attributes``) that become Prometheus labels."""
    max_label_sets: int = Field(default=1000, ge=1, le=1_000_000)
    """Distinct base label sets admitted per process before new ones fold into ``_OTHER``."""
    capture_content: bool = False
    """Record prompt and completion text on spans (off: text never leaves the process)."""
    inject_stream_usage: bool = True
    """Ask OpenAI chat streams for a final usage chunk (hidden from callers who did not ask)."""
    suppress_sdk_spans: bool = True
    """Turn off SDKs' own OpenTelemetry spans (Anthropic's) so a call yields one span, ours."""
    price_overrides: str | dict[str, Any] | None = None
    """Prices for custom models, USD per million tokens: a JSON or TOML file, inline JSON, or a mapping."""
    registry: CollectorRegistry | None = None
    """Prometheus registry to register families in (default: the global one). Keyword only."""
    tracer_provider: TracerProvider | None = None
    """TracerProvider for our spans (default: the global one). Keyword only."""
    meter_provider: MeterProvider | None = None
    """MeterProvider for our OTel metrics (default: the global one). Keyword only."""
    push_gateway: str | None = None
    """Pushgateway URL: push every family at exit and every ``push_interval`` seconds."""
    push_interval: float = Field(default=15.0, gt=0, le=86400)
    """Seconds between pushes while the process runs."""
    push_job: str | None = Field(default=None, min_length=1, max_length=128)
    """The pushed ``job`` label (default: the program's name)."""

    @field_validator("metrics_port", "max_label_sets", "push_interval", mode="before")
    @classmethod
    def _not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):  # ``True`` is an int to Python; as a port it would bind port 1
            raise ValueError("a boolean is not a number")
        return value

    @field_validator("push_gateway", mode="before")
    @classmethod
    def _gateway(cls, value: Any) -> Any:
        if value == "":
            return None
        if isinstance(value, str):
            url = urlsplit(value)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ValueError("not an http(s) URL with a host")
        return value

    @field_validator("metric_attributes", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("metric_attributes")
    @classmethod
    def _labels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            check_label_name(name)
        if len(set(value)) != len(value):
            raise ValueError("names must be unique")
        return value

    @classmethod
    def load(cls, overrides: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from keyword arguments (which win) over ``LLM_TELEMETRY_*`` environment variables."""
        env = os.environ if environ is None else environ
        unknown = sorted(set(overrides) - set(cls.model_fields))
        if unknown:
            raise ConfigError(
                f"llm_telemetry: unknown option {unknown[0]!r}; accepted options: "
                + ", ".join(sorted(cls.model_fields))
            )
        raw: dict[str, Any] = {}
        source: dict[str, str] = {}
        for name in cls.model_fields:
            var = ENV_PREFIX + name.upper()
            if name not in _OBJECT_OPTIONS and var in env:
                raw[name], source[name] = env[var], f"environment variable {var}"
        if "capture_content" not in raw:
            otel = env.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
            if otel is not None:
                raw["capture_content"] = otel
                source["capture_content"] = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
        for name, value in overrides.items():
            raw[name], source[name] = value, "keyword argument"
        if raw.get("metrics_port") == "":
            raw["metrics_port"] = None
        try:
            return cls(**raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else "?"
            raise ConfigError(
                f"llm_telemetry: invalid value {raw.get(name)!r} for option {name!r} "
                f"(from {source.get(name, 'defaults')}): {err['msg']}; "
                f"accepted: {_ACCEPTED.get(name, 'see docs')}"
            ) from None


def check_label_name(name: str) -> str:
    """Raise ValueError unless ``name`` can be a Prometheus label of ours."""
    if not isinstance(name, str) or not _LABEL_RE.match(name) or name.startswith("__"):
        raise ValueError(f"{name!r} is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    if name in RESERVED_LABELS:
        raise ValueError(f"{name!r} is reserved by llm_telemetry's own labels")
    return name


_ACCEPTED = {
    "metrics": "true or false",
    "tracing": "true or false",
    "otel_metrics": "true or false",
    "capture_content": "true or false",
    "inject_stream_usage": "true or false",
    "suppress_sdk_spans": "true or false",
    "metrics_port": "an integer from 0 to 65535, or empty for no server",
    "metrics_address": "an IP address or host name to bind",
    "metric_attributes": "a list (or comma-separated string) of unique label names matching "
    "[a-zA-Z_][a-zA-Z0-9_]*, none of " + ", ".join(sorted(RESERVED_LABELS)),
    "max_label_sets": "an integer from 1 to 1000000",
    "price_overrides": "a path to a JSON or TOML file, a JSON object as a string, or a mapping, of model "
    "prices in USD per million tokens",
    "registry": "a prometheus_client.CollectorRegistry",
    "tracer_provider": "an opentelemetry.trace.TracerProvider",
    "meter_provider": "an opentelemetry.metrics.MeterProvider",
    "push_gateway": "a Pushgateway URL such as http://pushgateway:9091, or empty for no push",
    "push_interval": "a number of seconds greater than 0 and at most 86400",
    "push_job": "a job name of 1 to 128 characters",
}


class Options(TypedDict, total=False):
    """The keyword arguments of ``instrument()`` (each also read from ``LLM_TELEMETRY_<NAME>``)."""

    metrics: bool
    tracing: bool
    otel_metrics: bool
    metrics_port: int | None
    metrics_address: str
    metric_attributes: Sequence[str] | str
    max_label_sets: int
    capture_content: bool
    inject_stream_usage: bool
    suppress_sdk_spans: bool
    price_overrides: str | Mapping[str, Any] | None
    registry: CollectorRegistry | None
    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None
    push_gateway: str | None
    push_interval: float
    push_job: str | None
