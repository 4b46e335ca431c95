"""Driving the workload: lanes (threads with sync clients, slots of one asyncio loop with async
clients), each with its own fake provider, making the planned calls the way an application would.

The calls go through the *real* openai and anthropic SDKs (and google-genai and boto3 when installed,
``_optional``) against :class:`~llm_telemetry.testing.FakeProvider` on loopback, so retries, streams and
error classes are exactly what production code exercises.
"""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anthropic
import openai

from ..attribution import attributes
from ..testing import Error, FakeProvider, Reply
from . import _optional
from ._planner import Step

__all__ = ["Tally", "Workload", "lanes"]

#: The SDKs insist on a key; this one only ever reaches the local fake provider.
DEMO_API_KEY = "sk-demo-not-a-real-key"
#: Steps through google-genai or boto3, whose clients and calls are ``_optional``'s.
_OPTIONAL = ("gemini", "bedrock")
_ERROR_LATENCY = 0.03


def lanes(rate: float) -> tuple[int, int]:
    """(threads, async slots): calls take about a second on average (up to a few), so two lanes per
    request per second keep the pace without queueing."""
    total = max(4, min(64, math.ceil(rate * 2)))
    slots = max(2, total // 3)
    return max(2, total - slots), slots


class _LaneProvider(FakeProvider):
    """A fake provider that also thinks ``latency`` seconds before each answer, so durations and time
    to first token look like a real API's.

    One per lane: the provider pairs scripted replies with requests in arrival order, so each
    sequential lane needs its own to keep its script paired with its calls.
    """

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(chunk_delay=0.0)
        self.latency = 0.0
        self._stop = stop

    def before_reply(self, reply: Reply | None) -> None:
        # Errors come back fast; answers take the scripted time (cut short on stop, for a prompt exit).
        self._stop.wait(_ERROR_LATENCY if isinstance(reply, Error) else self.latency)

    def prepare(self, step: Step) -> None:
        """Script the next call (the lane is sequential, so nothing else is queued)."""
        self.reset()  # also drops the request log, which would otherwise grow without bound
        self.latency = step.latency
        self.chunk_delay = step.chunk_delay
        self.script(*step.replies)


class _Pacer:
    """Hands out (start time, step) at ``rate`` per second until ``halt`` is set."""

    def __init__(self, steps: Iterable[Step], rate: float, halt: threading.Event) -> None:
        self._steps = iter(steps)
        self._interval = 1.0 / rate
        self._halt = halt
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> tuple[float, Step] | None:
        """The next step and when to start it; None once halted or when a finite plan is used up."""
        with self._lock:
            step = None if self._halt.is_set() else next(self._steps, None)
            if step is None:
                return None
            at = max(time.monotonic(), self._next)
            self._next = at + self._interval  # a lagging lane does not cause a burst to catch up
            return at, step


class Tally:
    """The driver's own count of what it did, shared by every lane."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.scenarios: Counter[str] = Counter()
        self.expected_failures = 0
        self.unexpected: list[str] = []

    def done(self, step: Step, exc: Exception | None) -> None:
        with self._lock:
            self.calls[step.counted_as] += 1
            self.scenarios[step.scenario] += 1
            if exc is not None and step.fails:
                self.expected_failures += 1
            elif exc is not None:
                self.unexpected.append(f"{step.scenario}: {type(exc).__name__}: {exc}")
            elif step.fails:
                self.unexpected.append(f"{step.scenario}: the call did not fail as scripted")

    def lane_crashed(self, exc: BaseException) -> None:
        with self._lock:
            self.unexpected.append(f"lane crashed: {type(exc).__name__}: {exc}")


@dataclass
class _Clients:
    """SDK clients for one lane; ``max_retries=1`` copies are made once and share their pools.

    The lane's own clients are made on first use, each with its own pool, and closed by
    :meth:`close_own` / :meth:`aclose_own`: google-genai's and boto3's (``_optional``), and openai
    clients for steps naming a production API (``Step.base_url``), whose transport sends every request
    to the lane's fake provider.
    """

    openai: Any
    anthropic: Any
    retries: dict[tuple[str, int], Any] = field(default_factory=dict)
    fake: FakeProvider | None = None
    own: dict[tuple[str, str | None], Any] = field(default_factory=dict)

    @classmethod
    def create(cls, asynchronous: bool) -> _Clients:
        """SDK defaults except a key and a timeout the demo never hits (the address comes per lane)."""
        options: dict[str, Any] = {"api_key": DEMO_API_KEY, "timeout": 30.0, "base_url": "http://127.0.0.1"}
        if asynchronous:
            return cls(openai.AsyncOpenAI(**options), anthropic.AsyncAnthropic(**options))
        return cls(openai.OpenAI(**options), anthropic.Anthropic(**options))

    def lane(self, provider: FakeProvider) -> _Clients:
        """Copies aimed at one lane's provider: cheap, sharing these clients' connection pools (building
        a client from scratch costs tens of milliseconds, which adds up over dozens of lanes)."""
        return _Clients(
            self.openai.copy(base_url=provider.openai_base_url),
            self.anthropic.copy(base_url=provider.anthropic_base_url),
            fake=provider,
        )

    def pick(self, step: Step) -> Any:
        if step.base_url is not None or step.provider in _OPTIONAL:
            return self._own(step)
        client = self.openai if step.provider == "openai" else self.anthropic
        if step.max_retries is None:
            return client
        key = (step.provider, step.max_retries)
        if key not in self.retries:
            self.retries[key] = client.with_options(max_retries=step.max_retries)
        return self.retries[key]

    def _own(self, step: Step) -> Any:
        """The lane's own client for ``step``, made on its first use."""
        key = (step.provider, step.base_url)
        found = self.own.get(key)
        if found is None:
            assert self.fake is not None, "own clients belong to a lane"
            if step.provider in _OPTIONAL:
                found = _optional.client_for(step, self.fake, DEMO_API_KEY)
            else:
                assert step.base_url is not None
                found = self._hosted(step.base_url, self.fake)
            self.own[key] = found
        return found

    def _hosted(self, base_url: str, fake: FakeProvider) -> Any:
        """An openai client at ``base_url`` (provider detection sees it) answered by ``fake``."""
        client = self.openai
        # The HTTP library under the SDK's client class: httpx (openai 2.x) or httpx2 (3.x).
        base = next(c for c in openai.DefaultHttpxClient.__mro__ if not c.__module__.startswith("openai"))
        http = sys.modules[base.__module__.split(".")[0]]
        if isinstance(client, openai.AsyncOpenAI):
            pool: Any = openai.DefaultAsyncHttpxClient(transport=fake.transport(http, True))
        else:
            pool = openai.DefaultHttpxClient(transport=fake.transport(http))
        return client.copy(base_url=base_url, http_client=pool)

    def close_own(self) -> None:
        for client in self.own.values():
            client.close()

    async def aclose_own(self) -> None:
        for (provider, _), client in self.own.items():
            if provider == "openai":
                await client.close()
            else:
                await _optional.aclose(provider, client)


def _create(client: Any, step: Step) -> Any:
    """The step's SDK method, ``<api>.create`` or the images API's (awaitable on async clients)."""
    if step.api == "chat":
        return client.chat.completions.create
    if step.api == "responses":
        return client.responses.create
    if step.api == "embeddings":
        return client.embeddings.create
    if step.api == "images.generate":
        return client.images.generate
    if step.api == "images.edit":
        return client.images.edit
    return client.messages.create


def _call(step: Step, clients: _Clients) -> None:
    """Make the step's SDK call the way an application would, reading any stream it gets."""
    client, kwargs = clients.pick(step), step.kwargs
    if step.provider in _OPTIONAL:
        _optional.call(client, step)
        return
    if step.api == "messages.stream":
        with client.messages.stream(**kwargs) as stream:
            _drain(stream, step.read_at_most)
        return
    result = _create(client, step)(**kwargs)
    if kwargs.get("stream"):
        with result:
            _drain(result, step.read_at_most)


async def _acall(step: Step, clients: _Clients) -> None:
    """:func:`_call` through the async clients."""
    client, kwargs = clients.pick(step), step.kwargs
    if step.provider in _OPTIONAL:
        await _optional.acall(client, step)
        return
    if step.api == "messages.stream":
        async with client.messages.stream(**kwargs) as stream:
            await _adrain(stream, step.read_at_most)
        return
    result = await _create(client, step)(**kwargs)
    if kwargs.get("stream"):
        async with result:
            await _adrain(result, step.read_at_most)


def _drain(stream: Iterable[Any], at_most: int | None) -> None:
    for n, _ in enumerate(stream, 1):
        if at_most is not None and n >= at_most:
            break


async def _adrain(stream: Any, at_most: int | None) -> None:
    n = 0
    async for _ in stream:
        n += 1
        if at_most is not None and n >= at_most:
            break


class Workload:
    """Runs the lanes: threads with sync clients, and slots of one asyncio loop with async clients.
    ``done`` is set when the last lane has finished."""

    def __init__(
        self,
        steps: Iterable[Step],
        rate: float,
        tally: Tally,
        halt: threading.Event,
        threads: int,
        slots: int,
    ) -> None:
        self.steps, self.rate, self.tally, self.halt = steps, rate, tally, halt
        self.threads = threads
        self.providers = [_LaneProvider(halt) for _ in range(threads + slots)]
        self.done = threading.Event()
        self._live = 0
        self._lock = threading.Lock()
        self._running: list[threading.Thread] = []
        self._sync_clients: _Clients | None = None

    def start(self) -> None:
        """Start providers and build clients first (tens of ms each), then the clock and the lanes."""
        for provider in self.providers:
            provider.start()
        self._sync_clients = _Clients.create(asynchronous=False)
        async_clients = _Clients.create(asynchronous=True)
        pacer = _Pacer(self.steps, self.rate, self.halt)
        runners: list[tuple[Callable[..., None], tuple[Any, ...]]] = [
            (self._sync_lane, (pacer, p, self._sync_clients.lane(p))) for p in self.providers[: self.threads]
        ]
        slots = [(p, async_clients.lane(p)) for p in self.providers[self.threads :]]
        runners.append((self._async_lane, (pacer, async_clients, slots)))
        self._live = len(runners)
        for n, (lane, args) in enumerate(runners):
            thread = threading.Thread(
                target=self._guard, args=(lane, *args), name=f"demo-lane-{n}", daemon=True
            )
            self._running.append(thread)
            thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the lanes (each finishes its call under way), then the providers."""
        self.halt.set()
        deadline = time.monotonic() + timeout
        for thread in self._running:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._sync_clients is not None:
            self._sync_clients.openai.close()
            self._sync_clients.anthropic.close()
            self._sync_clients = None
        stoppers = [threading.Thread(target=p.stop) for p in self.providers]  # each waits for its poll
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()

    def _guard(self, lane: Callable[..., None], *args: Any) -> None:
        try:
            lane(*args)
        except BaseException as exc:  # never die silently: the summary reports it
            self.tally.lane_crashed(exc)
        finally:
            with self._lock:
                self._live -= 1
                if self._live == 0:
                    self.done.set()

    def _sync_lane(self, pacer: _Pacer, provider: _LaneProvider, clients: _Clients) -> None:
        try:
            self._sync_steps(pacer, provider, clients)
        finally:
            clients.close_own()

    def _sync_steps(self, pacer: _Pacer, provider: _LaneProvider, clients: _Clients) -> None:
        while (slot := pacer.take()) is not None:
            at, step = slot
            if self.halt.wait(max(0.0, at - time.monotonic())):
                return
            provider.prepare(step)
            error: Exception | None = None
            try:
                with attributes(feature=step.feature, tenant=step.tenant):
                    _call(step, clients)
            except Exception as exc:
                error = exc
            self.tally.done(step, error)

    def _async_lane(
        self, pacer: _Pacer, shared: _Clients, slots: list[tuple[_LaneProvider, _Clients]]
    ) -> None:
        async def main() -> None:
            try:
                await asyncio.gather(*(self._async_slot(pacer, *slot) for slot in slots))
            finally:
                await shared.openai.close()
                await shared.anthropic.close()

        asyncio.run(main())

    async def _async_slot(self, pacer: _Pacer, provider: _LaneProvider, clients: _Clients) -> None:
        try:
            await self._async_steps(pacer, provider, clients)
        finally:
            await clients.aclose_own()

    async def _async_steps(self, pacer: _Pacer, provider: _LaneProvider, clients: _Clients) -> None:
        while (slot := pacer.take()) is not None:
            at, step = slot
            while not self.halt.is_set() and (wait := at - time.monotonic()) > 0:
                await asyncio.sleep(min(wait, 0.1))
            if self.halt.is_set():
                return
            provider.prepare(step)
            error: Exception | None = None
            try:
                with attributes(feature=step.feature, tenant=step.tenant):
                    await _acall(step, clients)
            except Exception as exc:
                error = exc
            self.tally.done(step, error)
