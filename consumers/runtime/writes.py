"""Writing a set of documents to a sink under the shared retry policy, for one-shot commands.

The daemon's loop does the same with pausing and rebalances on top
(:mod:`consumers.runtime.batch_loop`); ``cwlpipe process`` has neither, only
a number of attempts and a stop signal.
"""

from __future__ import annotations

from collections.abc import Sequence

from consumers.kafka.dead_letters import DeadLetterRecord, now_ms
from consumers.runtime.errors import describe
from consumers.runtime.protocols import Document, Refusal, Sink, WriteResult
from consumers.runtime.retry import RetryPolicy, StopSignal

__all__ = ["refused_dead_letter", "write_all"]


async def write_all(
    sink: Sink,
    documents: Sequence[Document],
    *,
    policy: RetryPolicy,
    stop: StopSignal,
    max_attempts: int,
) -> WriteResult:
    """Totals over the attempts; ``retry`` holds what was still refused after the last one."""
    total = WriteResult()
    pending = list(documents)
    for attempt in range(max_attempts):
        try:
            result = await sink.write(pending)
        except Exception as error:  # a sink that fails as a whole: everything is still pending
            result = WriteResult(retry=pending, retry_reason=describe(error))
        total.acknowledged += result.acknowledged
        total.refused += result.refused
        pending = result.retry
        total.retry_reason = result.retry_reason or total.retry_reason
        if not pending or attempt + 1 == max_attempts:
            break
        if not await stop.sleep(policy.delay(attempt)):
            break
    total.retry = pending
    return total


def refused_dead_letter(
    refusal: Refusal, *, topic: str, partition: int, offset: int
) -> DeadLetterRecord:
    """The dead letter of a document the store refused for good: its source line, with the
    store's status and reason, from the record at ``topic``/``partition``/``offset``."""
    document, status, reason = refusal
    return DeadLetterRecord(
        original=document.body.split(b"\n", 2)[1],
        topic=topic,
        partition=partition,
        offset=offset,
        stage="index",
        reason=f"HTTP {status}: {reason}",
        time_ms=now_ms(),
        document_id=document.id,
        index=document.index,
    )
