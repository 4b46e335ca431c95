"""One small module per SDK; each only maps SDK calls onto the shared recording path.

An integration exposes ``patches() -> list[Patch]``. It is loaded only when its SDK is importable.
"""

from __future__ import annotations

#: SDK import name -> integration module, in the order they are installed.
INTEGRATIONS: dict[str, str] = {
    "openai": "llm_telemetry.integrations.openai",
    "anthropic": "llm_telemetry.integrations.anthropic",
    "litellm": "llm_telemetry.integrations.litellm",
    "instructor": "llm_telemetry.integrations.instructor",
}
