"""The no-key demo behind ``llm-telemetry demo``: a planned workload through the real SDKs.

``_planner`` (one scripted call and its random draws) -> ``_scenarios`` (what the traffic is made of,
and the seeded plan) -> ``_lanes`` (threads and async slots making the calls; ``_optional`` for the
google-genai and boto3 ones) -> ``_run`` (serving ``/metrics``, pacing, stopping), with ``_summary`` and
``_console`` for what is printed and ``_export`` for where spans go.
"""

from ._console import Progress
from ._errors import DemoError
from ._export import SpanExport, export_spans
from ._planner import Step
from ._run import METRIC_ATTRIBUTES, run_demo
from ._scenarios import SCENARIOS, plan
from ._summary import DemoSummary, Totals, format_summary

__all__ = [
    "METRIC_ATTRIBUTES",
    "SCENARIOS",
    "DemoError",
    "DemoSummary",
    "Progress",
    "SpanExport",
    "Step",
    "Totals",
    "export_spans",
    "format_summary",
    "plan",
    "run_demo",
]
