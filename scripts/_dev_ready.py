"""Exit 0 when this interpreter can run the test command: llm-telemetry importable from this checkout
and every requirement of its ``dev`` extra (recursively: dev -> all -> openai, otel, ...) installed at
a matching version. Otherwise name what is missing on stderr and exit 1.

Why: README's first command makes ``.venv`` with the runtime extras only, and a requirement added to
pyproject.toml later must reach an existing venv too; ``scripts/test`` installs the dev extras when
this says no. Reads pyproject.toml itself, so it never drifts from it. Standard library, plus
``packaging`` (pytest brings it: without it the dev extras are missing anyway).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def missing(root: Path = ROOT) -> list[str]:
    """What ``root``'s pyproject.toml needs for the test command and this interpreter lacks."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: tomli is a dependency there
        try:
            import tomli as tomllib
        except ImportError:
            return ["tomli"]
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return ["packaging"]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    todo, expanded, absent = [*project["dependencies"], *extras["dev"]], {"dev"}, []
    while todo:
        requirement = Requirement(todo.pop())
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        if _canonical(requirement.name) == _canonical(project["name"]):  # llm-telemetry[all] and the like
            todo += [r for extra in sorted(requirement.extras - expanded) for r in extras[extra]]
            expanded |= requirement.extras
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            absent.append(str(requirement))
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            absent.append(f"{requirement} (found {version})")
    spec = importlib.util.find_spec("llm_telemetry")
    if spec is None or spec.origin is None or not Path(spec.origin).resolve().is_relative_to(root / "src"):
        absent.append(f"{project['name']} installed from {root} (pip install -e)")
    return sorted(absent)


if __name__ == "__main__":
    absent = missing()
    if absent:
        print(f"{sys.prefix}: missing {', '.join(absent)}", file=sys.stderr)
    sys.exit(1 if absent else 0)
