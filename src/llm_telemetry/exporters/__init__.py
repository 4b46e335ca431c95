"""Ways out of the process for the Prometheus families: a ``/metrics`` server or apps to mount
(``server``), and a Pushgateway for processes that exit before any scrape (``push``)."""
