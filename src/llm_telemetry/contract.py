"""The contract's closed sets and names, in one place (see the README's Metrics and Spans sections).

Everything a dashboard, an alert rule or a trace query matches on is spelled here once: outcomes,
error types, finish reasons, token families, cost components, internal-error stages, and every span
attribute name. Renaming any value breaks someone's Grafana: extend, never rename.
"""

from __future__ import annotations

from typing import Final, NamedTuple

# -- Prometheus label values ------------------------------------------------------------------------

OUTCOMES: Final = ("success", "error", "cancelled")

ERROR_TYPES: Final = (
    "rate_limit",
    "quota",
    "overloaded",
    "server",
    "timeout",
    "connection",
    "auth",
    "permission",
    "not_found",
    "context_length",
    "request_too_large",
    "content_filter",
    "bad_request",
    "conflict",
    "validation",
    "length",
    "stream_interrupted",
    "other",
)

FINISH_REASONS: Final = ("stop", "length", "tool_calls", "content_filter", "refusal", "other")
#: Providers' raw finish reasons -> the closed set (anything else is ``other``).
FINISH_REASON_MAP: Final = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "completed": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "refusal",
    # Gemini: google-genai's ``FinishReason``, lower-cased.
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "spii": "content_filter",
    "image_safety": "content_filter",
    "image_prohibited_content": "content_filter",
    "image_recitation": "content_filter",
    "model_armor": "content_filter",
    # Bedrock: Converse's ``stopReason``, Titan's ``completionReason`` lower-cased.
    "finish": "stop",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


#: Token families: ``Usage`` field -> Prometheus family (pre-created at zero with a response model).
TOKEN_FAMILIES: Final = {
    "input": "llm_telemetry_input_tokens_total",
    "output": "llm_telemetry_output_tokens_total",
    "cache_read": "llm_telemetry_cache_read_tokens_total",
    "cache_write": "llm_telemetry_cache_write_tokens_total",
    "reasoning": "llm_telemetry_reasoning_tokens_total",
}

#: Units beyond text tokens (v1.1): subsets of input/output, created on first non-zero use only.
BILLED_TOKEN_FAMILIES: Final = {
    "audio_input": "llm_telemetry_audio_input_tokens_total",
    "audio_output": "llm_telemetry_audio_output_tokens_total",
    "image_input": "llm_telemetry_image_input_tokens_total",
    "image_output": "llm_telemetry_image_output_tokens_total",
}

#: ``llm_telemetry_server_tool_calls_total{tool}``.
SERVER_TOOLS: Final = ("web_search", "web_fetch", "file_search", "code_interpreter", "other")

#: ``llm_telemetry_cost_usd_total{component}``: never overlapping, so ``sum()`` is the total.
COST_COMPONENTS: Final = (
    "input",
    "cache_read",
    "cache_write",
    "output",
    "audio_input",
    "audio_output",
    "image_input",
    "image_output",
    "tool",
    "request",
    "reported",
)
#: The components pre-created at zero with a response model (the others appear on first use).
PRECREATED_COST_COMPONENTS: Final = ("input", "cache_read", "cache_write", "output", "request")
#: ``llm_telemetry.cost.source``: priced by us, or the amount the provider reported.
COST_SOURCES: Final = ("computed", "reported")

#: Where the instrumentation itself can fail (``llm_telemetry_internal_errors_total{stage}``).
INTERNAL_STAGES: Final = (
    "begin",  # reading the request, resolving the provider, starting the record
    "result",  # reading a non-streamed result
    "stream_chunk",  # reading one stream chunk
    "stream_end",  # ending a stream's record
    "retry",  # counting an SDK or validation retry
    "price",  # pricing a response
    "metrics",  # writing the Prometheus families
    "span",  # starting or ending a span
    "otel_metrics",  # recording the OTel metrics
    "content",  # opt-in content capture
    "hook",  # installing a hook when an SDK is imported
    "structured",  # instructor's attempts and verdicts
    "push",  # pushing to a Pushgateway (exporters/push.py)
)


class Sdk(NamedTuple):
    """One supported SDK: our integration of it, and where ``llm_telemetry_build_info`` names its version."""

    #: The integration module, installed once the SDK's import name is importable.
    module: str
    #: The distribution whose installed version is reported ("" when it is not installed).
    distribution: str
    #: Its ``llm_telemetry_build_info`` label.
    label: str


#: Supported SDKs by import name, installed in this order; ``build_info`` labels follow it.
SDKS: Final = {
    "openai": Sdk("llm_telemetry.integrations.openai", "openai", "openai"),
    "anthropic": Sdk("llm_telemetry.integrations.anthropic", "anthropic", "anthropic"),
    "litellm": Sdk("llm_telemetry.integrations.litellm", "litellm", "litellm"),
    "instructor": Sdk("llm_telemetry.integrations.instructor", "instructor", "instructor"),
    "google.genai": Sdk("llm_telemetry.integrations.google_genai", "google-genai", "google_genai"),
    # boto3's bedrock-runtime client is botocore's: the hooks are botocore's classes.
    "botocore": Sdk("llm_telemetry.integrations.bedrock", "boto3", "boto3"),
    "dspy": Sdk("llm_telemetry.integrations.dspy", "dspy", "dspy"),
}
#: ``llm_telemetry_build_info`` labels: existing ones keep their names and order, new SDKs go before
#: ``prices``.
BUILD_INFO_LABELS: Final = ("version", *(sdk.label for sdk in SDKS.values()), "prices")

# -- span attribute names ---------------------------------------------------------------------------


class GenAI:
    """OpenTelemetry GenAI semantic-convention attribute names (and the few general ones we use)."""

    OPERATION_NAME: Final = "gen_ai.operation.name"
    PROVIDER_NAME: Final = "gen_ai.provider.name"
    #: Before ``gen_ai.provider.name``; emitted unless ``OTEL_SEMCONV_STABILITY_OPT_IN`` opts out.
    SYSTEM: Final = "gen_ai.system"
    REQUEST_MODEL: Final = "gen_ai.request.model"
    REQUEST_STREAM: Final = "gen_ai.request.stream"
    REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
    REQUEST_TOP_P: Final = "gen_ai.request.top_p"
    REQUEST_TOP_K: Final = "gen_ai.request.top_k"
    REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
    REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
    REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
    REQUEST_SEED: Final = "gen_ai.request.seed"
    REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
    RESPONSE_MODEL: Final = "gen_ai.response.model"
    RESPONSE_ID: Final = "gen_ai.response.id"
    RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
    RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
    USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
    USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
    USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
    USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
    #: The old name of the cache-write attribute, kept while backends migrate.
    USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
    USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
    TOKEN_TYPE: Final = "gen_ai.token.type"
    INPUT_MESSAGES: Final = "gen_ai.input.messages"
    OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
    SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
    SERVER_ADDRESS: Final = "server.address"
    SERVER_PORT: Final = "server.port"
    ERROR_TYPE: Final = "error.type"


class Ours:
    """Span attribute names of our own (``llm_telemetry.*``) where the conventions have none."""

    COST_USD: Final = "llm_telemetry.cost.usd"
    #: The old cost attribute, kept alongside for one minor version (contract v1.1).
    OLD_COST_USD: Final = "llm.cost.usd"
    RETRIES: Final = "llm_telemetry.retries"
    OUTCOME: Final = "llm_telemetry.outcome"
    ATTEMPTS: Final = "llm_telemetry.attempts"
    COST_SOURCE: Final = "llm_telemetry.cost.source"
    SERVICE_TIER: Final = "llm_telemetry.service_tier"
    #: Prefix of the v1.1 units on the span: ``llm_telemetry.usage.audio_input_tokens`` etc.
    USAGE_PREFIX: Final = "llm_telemetry.usage."
    #: An instructor parent span's total over its attempts (not ``COST_USD``: backends sum that).
    TOTAL_COST_USD: Final = "llm_telemetry.total_cost.usd"
    CACHE_WRITE_5M: Final = "llm_telemetry.usage.cache_write_5m.input_tokens"
    CACHE_WRITE_1H: Final = "llm_telemetry.usage.cache_write_1h.input_tokens"
    #: Prefix of attribution attributes: ``attributes(feature="x")`` -> ``llm_telemetry.attr.feature``.
    ATTRIBUTION_PREFIX: Final = "llm_telemetry.attr."


#: ``Usage`` field -> the span attribute a trace backend sums (only ever on the one CLIENT span).
USAGE_ATTRIBUTES: Final = {
    "input": GenAI.USAGE_INPUT_TOKENS,
    "output": GenAI.USAGE_OUTPUT_TOKENS,
    "cache_read": GenAI.USAGE_CACHE_READ_INPUT_TOKENS,
    "cache_write": GenAI.USAGE_CACHE_WRITE_INPUT_TOKENS,
    "reasoning": GenAI.USAGE_REASONING_OUTPUT_TOKENS,
}


def valid_text(value: object) -> str:
    """``value`` as a string every exporter can encode: lone surrogates (a truncated emoji, a provider's
    broken ``model``) replaced, since one of them fails a whole scrape or span batch."""
    text = value if isinstance(value, str) else str(value)
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def finish_reason_label(reason: object) -> str:
    """The contract's finish-reason value for a provider's raw one."""
    return FINISH_REASON_MAP.get(reason, "other") if isinstance(reason, str) else "other"


def is_cancellation(exc: BaseException) -> bool:
    """The one rule for "cancelled": the caller stopped the work, it did not fail.

    ``asyncio.CancelledError``, ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit`` derive
    from ``BaseException`` only, precisely because they are not errors of the code they interrupt.
    """
    return not isinstance(exc, Exception)
