"""``instrument()`` and ``uninstrument()``: validate configuration, choose the writers, hook SDKs.

Idempotent, thread-safe and all or nothing: any :class:`ConfigError` leaves the previous state (or
nothing) in place. Calling ``instrument()`` again re-applies the configuration without hooking twice;
families survive ``uninstrument()`` so counters stay monotonic across re-instrumenting.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import threading
from importlib import metadata
from typing import Any

import wrapt
from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from prometheus_client import REGISTRY, values
from typing_extensions import Unpack

from ._version import __version__
from .config import ConfigError, Options, Settings
from .contract import SDKS
from .exporters import push
from .exporters.server import MetricsServer, multiprocess_enabled, serve
from .integrations._patch import HOOKS
from .pricing import Pricer, load_overrides
from .record import Telemetry, active, install, internal_error
from .record.labels import Admission
from .record.metrics import Families, PrometheusWriter
from .record.otel_metrics import OTelMetricsWriter
from .record.spans import SpanWriter
from .record.telemetry import Writer
from .streams import _ensure_worker

__all__ = ["instrument", "is_instrumented", "metrics_server_port", "sdk_versions", "uninstrument"]

_lock = threading.RLock()
#: SDKs hooked (or waiting for their import) since the last ``uninstrument()``.
_hooked: set[str] = set()
#: Bumped by ``uninstrument()`` so import hooks registered before it do nothing.
_generation = 0
_registered: dict[int, Families] = {}
_server: MetricsServer | None = None
_server_at: tuple[str, int] | None = None


def sdk_versions() -> dict[str, str]:
    """Installed versions of the supported SDKs ("" when absent), as ``build_info`` reports them."""
    out = {}
    for sdk in SDKS:
        try:
            out[sdk] = metadata.version(sdk)
        except metadata.PackageNotFoundError:
            out[sdk] = ""
    return out


def _pricer(settings: Settings) -> Pricer:
    try:
        overrides = load_overrides(settings.price_overrides) if settings.price_overrides else None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"llm_telemetry: invalid value {settings.price_overrides!r} for option 'price_overrides': {exc}; "
            "accepted: a path to a JSON or TOML file, or a JSON object, mapping model names to prices "
            "in USD per million tokens"
        ) from None
    return Pricer(overrides)


def _check_multiprocess() -> None:
    """``PROMETHEUS_MULTIPROC_DIR`` must be usable, and set before prometheus-client was imported."""
    if not multiprocess_enabled():
        return
    var = (
        "PROMETHEUS_MULTIPROC_DIR" if "PROMETHEUS_MULTIPROC_DIR" in os.environ else "prometheus_multiproc_dir"
    )
    path = os.environ[var]
    if not os.path.isdir(path):
        problem = "does not exist" if not os.path.exists(path) else "is not a directory"
        raise ConfigError(f"llm_telemetry: {var}={path!r} {problem}; create it before starting the workers")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"llm_telemetry: {var}={path!r} is not writable by this process")
    if values.ValueClass is values.MutexValue:
        raise ConfigError(
            f"llm_telemetry: {var} was set after prometheus_client was imported, so this process keeps its "
            "metrics in memory and /metrics would serve the (empty) shared files; set it in the environment "
            "before Python starts (or before anything imports prometheus_client)"
        )


def _families(settings: Settings) -> Families:
    """The registry's families for this label configuration (replacing those of another one)."""
    registry = settings.registry or REGISTRY
    families = _registered.get(id(registry))
    if families is not None and families.attribute_names == settings.metric_attributes:
        return families
    if families is not None:
        families.unregister()
    try:
        return Families(registry, settings.metric_attributes)
    except BaseException:
        if families is not None:  # all or nothing: put the previous families back
            families.reregister()
        raise


def _prometheus(settings: Settings, pricer: Pricer) -> PrometheusWriter | None:
    if not settings.metrics:
        return None
    families = _families(settings)
    _registered[id(families.registry)] = families
    versions = sdk_versions()
    families.build_info.labels(__version__, *(versions[sdk] for sdk in SDKS), pricer.version).set(1)
    current = active()
    old = current.metrics if current is not None else None
    if (
        old is not None
        and old.families is families
        and old.admission.max_label_sets == settings.max_label_sets
    ):
        return old  # keep label-set admissions across re-configuration
    writer = PrometheusWriter(
        families, Admission(families.attribute_names, settings.max_label_sets, families.series_folded)
    )
    if old is not None:
        old.successor = writer  # requests under way when the labels changed end in the new families
    return writer


def _admission(settings: Settings, metrics: PrometheusWriter | None) -> Admission:
    """The Prometheus writer's (its fold counter included), else one for the OTel metrics alone."""
    if metrics is not None:
        return metrics.admission
    current = active()
    old = current.admission if current is not None else None
    same = old is not None and (old.attribute_names, old.max_label_sets) == (
        settings.metric_attributes,
        settings.max_label_sets,
    )
    return old if same and old is not None else Admission(settings.metric_attributes, settings.max_label_sets)


def _writers(settings: Settings, metrics: PrometheusWriter | None) -> tuple[tuple[Writer, ...], Any]:
    """The enabled writers, in the order they see a call, and the tracer (for instructor's parent span)."""
    writers: list[Writer] = []
    if metrics is not None:
        writers.append(metrics)
    tracer = None
    if settings.tracing:
        provider = settings.tracer_provider or trace.get_tracer_provider()
        tracer = provider.get_tracer("llm_telemetry", __version__)
        opt_in = os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN", "")
        legacy = "gen_ai_latest_experimental" not in opt_in
        writers.append(SpanWriter(tracer, legacy, global_provider=settings.tracer_provider is None))
    meter_provider = settings.meter_provider or otel_metrics.get_meter_provider()
    if settings.otel_metrics and not isinstance(meter_provider, otel_metrics.NoOpMeterProvider):
        meter = meter_provider.get_meter("llm_telemetry", __version__)
        global_provider = settings.meter_provider is None
        writers.append(OTelMetricsWriter(meter, settings.metric_attributes, global_provider))
    return tuple(writers), tracer


def _start_server(settings: Settings) -> tuple[bool, MetricsServer | None]:
    """Where ``/metrics`` must move to: (move?, the new server already listening, or None for none)."""
    wanted = None if settings.metrics_port is None else (settings.metrics_address, settings.metrics_port)
    if wanted == _server_at and (wanted is None or wanted[1] != 0):
        return False, None
    if wanted is None:
        return True, None
    try:
        return True, serve(wanted[1], wanted[0], settings.registry)
    except OSError as exc:
        raise ConfigError(
            f"llm_telemetry: cannot serve /metrics on {wanted[0]}:{wanted[1]} (option 'metrics_port'): "
            f"{exc}; accepted: a free port, or 0 for any"
        ) from None


def _move_server(server: MetricsServer | None, settings: Settings) -> None:
    global _server, _server_at
    _stop_server()
    _server = server
    _server_at = None if server is None else (settings.metrics_address, settings.metrics_port or 0)


def _stop_server() -> None:
    global _server, _server_at
    if _server is not None:
        _server.shutdown()
        _server.server_close()
    _server, _server_at = None, None


def _apply(module_name: str) -> None:
    HOOKS.apply(importlib.import_module(module_name).patches())


def _on_import(module_name: str, generation: int, sdk: object) -> None:
    with _lock:
        if generation == _generation and module_name in _hooked:
            try:
                _apply(module_name)
            except Exception as exc:  # an SDK version we cannot hook must not break its import
                internal_error("hook", exc)


def _hook_sdks() -> None:
    for sdk, module_name in SDKS.items():
        if module_name in _hooked or importlib.util.find_spec(sdk) is None:
            continue
        _hooked.add(module_name)
        if sdk in sys.modules:
            try:
                _apply(module_name)
            except Exception as exc:
                internal_error("hook", exc)
        else:  # hook it when the application imports it: no import cost for unused SDKs
            wrapt.register_post_import_hook(functools.partial(_on_import, module_name, _generation), sdk)


def instrument(**options: Unpack[Options]) -> None:
    """Hook every importable supported SDK and start recording.

    Every option also reads ``LLM_TELEMETRY_<NAME>`` from the environment (keyword arguments win).
    Raises :class:`ConfigError` for a bad value, naming the option and the accepted values; nothing
    is hooked, registered or served by a call that raises.
    """
    with _lock:
        settings = Settings.load(options)
        pricer = _pricer(settings)
        if settings.metrics:
            _check_multiprocess()
        move, server = _start_server(settings)
        try:
            metrics = _prometheus(settings, pricer)
        except BaseException:
            if server is not None:
                server.shutdown()
                server.server_close()
            raise
        if move:
            _move_server(server, settings)
        writers, tracer = _writers(settings, metrics)
        install(Telemetry(settings, writers, metrics, pricer, _admission(settings, metrics), tracer))
        _ensure_worker()
        _hook_sdks()
        push.start(settings)


def uninstrument() -> None:
    """Remove every hook, restoring the SDKs' original attributes exactly, and stop recording."""
    global _generation
    with _lock:
        HOOKS.remove_all()
        _hooked.clear()
        _generation += 1
        push.stop()  # the last push still counts its own failure
        install(None)
        _stop_server()


def is_instrumented() -> bool:
    """True between ``instrument()`` and ``uninstrument()``."""
    return active() is not None


def metrics_server_port() -> int | None:
    """The port ``/metrics`` is served on by ``instrument(metrics_port=...)``, if any."""
    return None if _server is None else int(_server.server_port)
