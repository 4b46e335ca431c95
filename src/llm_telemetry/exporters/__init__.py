"""Ways out of the process for the Prometheus families: a ``/metrics`` server or apps to mount."""
