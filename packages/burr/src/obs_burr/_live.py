"""The spans that are open right now, found by Burr's own identifiers.

Burr calls each hook with the application's id and partition key, and the step hooks with the
step's sequence id, so open spans are kept in plain dictionaries under those keys instead of a
stack: two applications running at once (in tasks or threads) never see each other's spans,
hooks may come back in any order, and a streaming step can end in another task than the one
that started it. The tables are process-wide because a parallel sub-application (run on an
executor thread, built without the parent's hooks) finds its parent step only through the
``spawning_parent_pointer`` Burr gives it, which names the parent by the same identifiers.
Dictionary reads and writes are atomic under the GIL, which is all the locking needed here.
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.trace import Span

from obs.instrumentation import BoundedCache

#: (app_id, partition_key) — one application call is open per application at a time (Burr
#: itself tracks nested calls per app id and only reports the outermost one).
AppKey = tuple[str, str | None]
#: (app_id, partition_key, sequence_id) — one step.
StepKey = tuple[str, str | None, int]
#: (app_id, partition_key, ActionSpan.uid) — one ``__tracer`` span (the uid embeds the step).
TracerSpanKey = tuple[str, str | None, str]

#: Spans of spawned applications whose parents are not known: at most this many pending.
MAX_PENDING_PARENTS = 4096


class CallRecord:
    """An open application call (``run``, ``step``, ``stream_result``, ...)."""

    __slots__ = ("context", "error", "exc_before", "span")

    def __init__(self, span: Span, context: Context, exc_before: BaseException | None) -> None:
        self.span = span
        #: The call span in a context, the parent handed to every step of the call.
        self.context = context
        #: The exception being handled when the call began (not the call's own failure).
        self.exc_before = exc_before
        #: The failure of a step, seen by the step hook: Burr hands the call hook ``None``.
        self.error: BaseException | None = None


class StepRecord:
    """An open step (``step <action>``) or ``__tracer`` span."""

    __slots__ = ("capture", "context", "exc_before", "items", "span", "stream", "token")

    def __init__(
        self,
        span: Span,
        context: Context,
        token: object | None,
        exc_before: BaseException | None,
        capture: bool = False,
    ) -> None:
        self.span = span
        #: Whether content is recorded for this span (decided once, when it starts).
        self.capture = capture
        self.context = context
        #: The attach token while the span is the current context of the code that opened it.
        self.token = token
        self.exc_before = exc_before
        #: Items a streaming step has produced so far.
        self.items = 0
        #: The wrapped stream of a streaming step (see ``_streams``).
        self.stream: object | None = None


calls: dict[AppKey, CallRecord] = {}
steps: dict[StepKey, StepRecord] = {}
tracer_spans: dict[TracerSpanKey, StepRecord] = {}
#: Spawned applications (``burr.core.parallelism``) -> the step of the parent that spawned them.
#: Bounded: applications built but never run would otherwise pile up (the oldest are forgotten).
spawned_by: BoundedCache[AppKey, StepKey] = BoundedCache(MAX_PENDING_PARENTS)


def remember_parent(child: AppKey, parent: StepKey) -> None:
    spawned_by.put(child, parent)
