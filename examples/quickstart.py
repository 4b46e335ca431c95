"""Quickstart: instrument, make an attributed OpenAI call, scrape its metrics. No key, no network:
the call goes to llm_telemetry.testing.FakeProvider, a local server speaking OpenAI's wire format.

    python examples/quickstart.py          # then: curl http://127.0.0.1:9464/metrics ; Ctrl-C to stop
"""

import contextlib
import sys
import threading

import openai

import llm_telemetry
from llm_telemetry.testing import Chat, FakeProvider, openai_usage

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9464  # 0: any free port

# 1. Before creating any client. /metrics is served only when metrics_port is given; "feature" and
#    "tenant" become Prometheus labels because metric_attributes declares them.
llm_telemetry.instrument(metrics_port=port, metric_attributes=["feature", "tenant"])

# 2. Your client as usual. For the real API, these three lines are just client = openai.OpenAI()
#    (it reads OPENAI_API_KEY).
fake = FakeProvider().start()
fake.script(Chat(content="It shipped on Tuesday.", usage=openai_usage(1200, 80, cached=1024)))
client = openai.OpenAI(base_url=fake.openai_base_url, api_key="not-needed")

with llm_telemetry.attributes(feature="search", tenant="acme"):
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Where is my order?"}]
    )
print(reply.choices[0].message.content)

# 3. Scrape it (or mount llm_telemetry.asgi_app() / wsgi_app() in your own server instead).
url = f"http://127.0.0.1:{llm_telemetry.metrics_server_port()}/metrics"
print(f"metrics at {url}; Ctrl-C to stop", flush=True)
with contextlib.suppress(KeyboardInterrupt):
    threading.Event().wait()
