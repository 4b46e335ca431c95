"""``instrument()`` and ``uninstrument()``: validate configuration, register families, hook SDKs.

Idempotent and thread-safe. Calling ``instrument()`` again re-applies the configuration without
hooking twice; families survive ``uninstrument()`` so counters stay monotonic across re-instrumenting.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import threading
from importlib import metadata
from typing import Any

import wrapt
from prometheus_client import REGISTRY

from . import record
from ._version import __version__
from .config import ConfigError, Settings
from .exporters import push
from .integrations import INTEGRATIONS
from .integrations._patch import Patch
from .metrics import Families, Metrics
from .record import Telemetry
from .server import serve
from .streams import _ensure_worker
from .tracing import Tracing

__all__ = ["instrument", "is_instrumented", "uninstrument"]

_lock = threading.RLock()
_patches: list[Patch] = []
#: Integrations hooked (or waiting for their SDK's import) since the last ``uninstrument()``.
_hooked: set[str] = set()
#: Bumped by ``uninstrument()`` so import hooks registered before it do nothing.
_generation = 0
_families: dict[int, Families] = {}
_server: Any = None


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def _pricer(settings: Settings) -> Any:
    from .pricing import Pricer, load_overrides

    try:
        overrides = load_overrides(settings.price_overrides) if settings.price_overrides else None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"llm_telemetry: invalid value {settings.price_overrides!r} for option 'price_overrides': {exc}; "
            "accepted: a path to a JSON file mapping model names to prices in USD per million tokens"
        ) from None
    return Pricer(overrides)


def _metrics(settings: Settings, prices_version: str) -> Metrics | None:
    if not settings.metrics:
        return None
    registry = settings.registry or REGISTRY
    families = _families.get(id(registry))
    if families is None or families.attribute_names != settings.metric_attributes:
        if families is not None:
            families.unregister()
        families = Families(registry, settings.metric_attributes)
        _families[id(registry)] = families
    families.build_info.labels(
        __version__,
        _version("openai"),
        _version("anthropic"),
        _version("litellm"),
        _version("instructor"),
        prices_version,
    ).set(1)
    current = record.active()
    if (
        current is not None
        and current.metrics is not None
        and current.metrics.families is families
        and current.metrics.max_label_sets == settings.max_label_sets
    ):
        return current.metrics  # keep label-set admissions across re-configuration
    return Metrics(families, settings.max_label_sets)


def _apply(module_name: str) -> None:
    for patch in importlib.import_module(module_name).patches():
        patch.apply()
        _patches.append(patch)


def _on_import(module_name: str, generation: int, sdk: object) -> None:
    with _lock:
        if generation == _generation and module_name in _hooked:
            try:
                _apply(module_name)
            except Exception as exc:  # an SDK version we cannot hook must not break its import
                record.internal_error("hook", exc)


def instrument(**options: Any) -> None:
    """Hook every importable supported SDK and start recording.

    Every option also reads ``LLM_TELEMETRY_<NAME>`` from the environment (keyword arguments win).
    Raises :class:`ConfigError` for a bad value, naming the option and the accepted values.
    """
    global _server
    with _lock:
        settings = Settings.load(options)
        pricer = _pricer(settings)
        metrics = _metrics(settings, pricer.version)
        tracing = Tracing(spans=settings.tracing, otel_metrics=settings.otel_metrics)
        record.install(Telemetry(settings, metrics, tracing, pricer, settings.metric_attributes))
        _ensure_worker()
        if not _hooked:
            for sdk, module_name in INTEGRATIONS.items():
                if importlib.util.find_spec(sdk) is None:
                    continue
                _hooked.add(module_name)
                if sdk in sys.modules:
                    _apply(module_name)
                else:  # hook it when the application imports it: no import cost for unused SDKs
                    wrapt.register_post_import_hook(
                        functools.partial(_on_import, module_name, _generation), sdk
                    )
        if settings.metrics_port is not None and _server is None:
            try:
                _server = serve(settings.metrics_port, settings.metrics_address, settings.registry)
            except OSError as exc:
                raise ConfigError(
                    "llm_telemetry: cannot serve /metrics on "
                    f"{settings.metrics_address}:{settings.metrics_port} "
                    f"(option 'metrics_port'): {exc}; accepted: a free port, or 0 for any"
                ) from None
        push.start(settings)


def uninstrument() -> None:
    """Remove every hook, restoring the SDKs' original attributes exactly, and stop recording."""
    global _server, _generation
    with _lock:
        for patch in reversed(_patches):
            patch.remove()
        _patches.clear()
        _hooked.clear()
        _generation += 1
        push.stop()  # the last push still counts its own failure
        record.install(None)
        if _server is not None:
            _server.shutdown()
            _server.server_close()
            _server = None


def hook_of(original: object) -> Patch | None:
    """The installed patch whose original is ``original`` (for layers that captured it before us)."""
    for patch in _patches:
        if patch.original is original:
            return patch
    return None


def is_instrumented() -> bool:
    """True between ``instrument()`` and ``uninstrument()``."""
    return record.active() is not None


def metrics_server_port() -> int | None:
    """The port ``/metrics`` is served on by ``instrument(metrics_port=...)``, if any."""
    return None if _server is None else int(_server.server_port)
