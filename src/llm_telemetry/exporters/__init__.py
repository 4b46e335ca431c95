"""Ways out of the process for the Prometheus families besides being scraped (``push``: Pushgateway)."""
