"""README tables that must match the code: the Spans section names every span attribute the code emits."""

from __future__ import annotations

import re
from pathlib import Path

from llm_telemetry.contract import GenAI, Ours
from llm_telemetry.integrations.instructor import _TOTALS

README = Path(__file__).resolve().parents[1] / "README.md"
#: Constants that are not span attributes of their own (a metric attribute, name prefixes).
NOT_ON_SPANS = {GenAI.TOKEN_TYPE, Ours.ATTRIBUTION_PREFIX, Ours.USAGE_PREFIX}


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _constants(cls: type) -> set[str]:
    return {v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)}


def test_spans_section_names_exactly_the_span_attributes_in_code() -> None:
    documented = set(
        re.findall(r"`((?:gen_ai|llm_telemetry|llm|server|error)\.[a-z0-9_.<>]+)`", _section("Spans"))
    )
    # Placeholders stand for families of names built from a prefix.
    documented -= {n for n in documented if "<" in n}
    in_code = (_constants(GenAI) | _constants(Ours)) - NOT_ON_SPANS
    # The instructor parent's totals: named in prose, one of them spelled out.
    documented -= set(_TOTALS.values())
    assert documented == in_code
