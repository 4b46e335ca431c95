"""One small module per SDK; each only maps SDK calls onto the shared recording path.

An integration exposes ``patches() -> list[Patch]`` and is loaded only when its SDK is importable;
``llm_telemetry.contract.SDKS`` is the one list of them.
"""
