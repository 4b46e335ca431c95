"""The no-key demo behind ``llm-telemetry demo``: a planned workload through the real SDKs."""

from ._workload import SCENARIOS, DemoSummary, Step, Totals, _Progress, format_summary, plan, run_demo

__all__ = ["SCENARIOS", "DemoSummary", "Step", "Totals", "_Progress", "format_summary", "plan", "run_demo"]
