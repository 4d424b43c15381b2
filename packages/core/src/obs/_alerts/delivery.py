"""Delivering notifications off the application's path.

Each channel has its own bounded queue and worker thread, so a dead Slack never delays the
webhook next to it and nothing the evaluator or the application does waits for the network.
A delivery is retried with exponential backoff within an overall bound; connect and read are
bounded by the channel's timeout. A channel that fails is said once per outage (and once when
it works again, with what was lost); every outcome is counted. Shutdown waits a bounded time.
"""

from __future__ import annotations

import http.client
import logging
import queue
import random
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from opentelemetry import metrics as metrics_api

from obs._alerts.channels import Channel, ConsoleChannel, Notification, Webhook, payload_bytes
from obs._diagnostics import logger
from obs._scrubbing import Scrubber
from obs._version import VERSION

alert_logger = logging.getLogger("obs.alerts")

QUEUE_SIZE = 100
#: Attempts per notification, and the overall time a notification may take across them.
MAX_ATTEMPTS = 5
MAX_DELIVERY_S = 60.0
FIRST_BACKOFF_S = 0.5


class DeliveryFailed(Exception):
    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


def post(channel: Webhook, body: bytes) -> int:
    """POST ``body``; the HTTP status. Connect and each read are bounded by the timeout."""
    parts = urlsplit(channel.url)
    host = parts.hostname or ""
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            host, parts.port, timeout=channel.timeout_s, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=channel.timeout_s)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"obs-alerts/{VERSION}",
        **dict(channel.headers),
    }
    try:
        connection.request("POST", path, body=body, headers=headers)
        # Only the status matters: the body is not read, so a slow or endless one cannot hold
        # the worker (each socket operation is bounded by the timeout; the connection closes).
        return connection.getresponse().status
    finally:
        connection.close()


def _reason(exc: BaseException) -> str:
    # Never the URL: exception texts of some HTTP stacks include it.
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return type(exc).__name__ + (
        f" ({exc.strerror})" if isinstance(exc, OSError) and exc.strerror else ""
    )


@dataclass
class ChannelStats:
    sent: int = 0
    failed: int = 0
    dropped: int = 0  # queue full or shut down with work left
    failing: bool = False
    lost_in_outage: int = 0


class _ChannelWorker:
    def __init__(self, channel: Webhook, stats: ChannelStats, counter: metrics_api.Counter) -> None:
        self.channel = channel
        self.stats = stats
        self.counter = counter
        self.queue: queue.Queue[Notification] = queue.Queue(QUEUE_SIZE)
        self.stopping = threading.Event()
        self.closing = threading.Event()  # shutting down: no more retries, just drain
        self.thread = threading.Thread(
            target=self._run, name=f"obs-alerts-{channel.kind}", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                notification = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._deliver(notification)
            except Exception as exc:  # a bug here must not kill the worker
                logger.debug("obs: alert delivery raised %r", exc)
            finally:
                self.queue.task_done()

    def _deliver(self, notification: Notification) -> None:
        body = payload_bytes(self.channel, notification)
        deadline = time.monotonic() + MAX_DELIVERY_S
        backoff = FIRST_BACKOFF_S
        reason = ""
        for attempt in range(MAX_ATTEMPTS):
            try:
                status = post(self.channel, body)
                if 200 <= status < 300:
                    self._succeeded()
                    return
                # A 4xx other than timeout/rate limit will not get better by retrying.
                retry = status >= 500 or status in (408, 429)
                reason = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                retry, reason = True, _reason(exc)
            if not retry or attempt == MAX_ATTEMPTS - 1:
                break
            pause = min(backoff, deadline - time.monotonic()) * (0.5 + random.random() / 2)
            if pause <= 0 or self.closing.wait(pause):
                break
            backoff *= 2
        self._failed(reason)

    def _succeeded(self) -> None:
        stats = self.stats
        stats.sent += 1
        self.counter.add(1, {"channel": self.channel.kind, "outcome": "sent"})
        if stats.failing:
            stats.failing = False
            logger.warning(
                "obs: alert channel %s works again; %d notification(s) were lost while it failed",
                self.channel.label,
                stats.lost_in_outage,
            )

    def _failed(self, reason: str) -> None:
        stats = self.stats
        stats.failed += 1
        self.counter.add(1, {"channel": self.channel.kind, "outcome": "failed"})
        if stats.failing:
            stats.lost_in_outage += 1
            return
        stats.failing = True
        stats.lost_in_outage = 1
        logger.warning(
            "obs: alert channel %s is failing (%s); notifications to it are dropped after "
            "retries until it recovers (the application is unaffected). Said once per outage.",
            self.channel.label,
            reason,
        )


class Deliverer:
    """Hands notifications to per-channel workers; ``send`` never blocks."""

    def __init__(self, scrubber: Scrubber | None = None) -> None:
        self.scrubber = scrubber
        self.stats: dict[str, ChannelStats] = {}
        self._workers: dict[Webhook, _ChannelWorker] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._counter = metrics_api.get_meter("obs", VERSION).create_counter(
            "obs.alerts.notifications",
            unit="{notification}",
            description="Alert notifications by channel and outcome (sent, failed, dropped)",
        )

    def send(self, notification: Notification, channels: tuple[Channel, ...]) -> None:
        try:
            notification = notification.scrubbed(self.scrubber)
        except Exception as exc:  # never deliver unscrubbed text: drop instead
            logger.debug("obs: scrubbing an alert raised %r", exc)
            return
        for channel in channels:
            if isinstance(channel, ConsoleChannel):
                trace = notification.example_trace_id
                alert_logger.warning(
                    "obs alert %s%s", notification.summary(), f" trace {trace}" if trace else ""
                )
                continue
            worker = self._worker(channel)
            if worker is None:
                continue
            try:
                worker.queue.put_nowait(notification)
            except queue.Full:
                stats = self.stats[channel.label]
                stats.dropped += 1
                self._counter.add(1, {"channel": channel.kind, "outcome": "dropped"})
                from obs._diagnostics import warn_once

                warn_once(
                    "alerts-queue-full:" + channel.label,
                    "obs: alert channel %s cannot keep up; notifications are dropped (said once)",
                    channel.label,
                )

    def _worker(self, channel: Webhook) -> _ChannelWorker | None:
        with self._lock:
            if self._closed:
                return None
            worker = self._workers.get(channel)
            if worker is None:
                stats = self.stats.setdefault(channel.label, ChannelStats())
                worker = self._workers[channel] = _ChannelWorker(channel, stats, self._counter)
            return worker

    def flush(self, timeout_s: float, *, skip_failing: bool = False) -> bool:
        """Wait until every queued notification is delivered or failed (for tests, CLI)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            if skip_failing and worker.stats.failing:
                continue  # retrying a dead channel at shutdown only delays the exit
            while worker.queue.unfinished_tasks:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
        return True

    def close(self, timeout_s: float = 2.0) -> None:
        """Deliver what is queued within ``timeout_s``, then stop; never waits longer."""
        with self._lock:
            self._closed = True
            workers = list(self._workers.values())
        for worker in workers:
            worker.closing.set()  # a retry waiting for its backoff gives up now
        self.flush(timeout_s, skip_failing=True)
        deadline = time.monotonic() + 0.5
        for worker in workers:
            worker.stopping.set()
        for worker in workers:
            # A worker inside a hanging request is a daemon: it is abandoned, not awaited.
            worker.thread.join(max(0.0, deadline - time.monotonic()))
            left = worker.queue.qsize()
            if left:
                worker.stats.dropped += left
