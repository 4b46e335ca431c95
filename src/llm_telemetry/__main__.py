"""``python -m llm_telemetry``: the ``llm-telemetry`` command, for environments without the console script."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
