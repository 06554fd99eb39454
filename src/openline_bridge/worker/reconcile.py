"""Before sending a visitor message again, ask Bitrix24 whether an earlier call already delivered it.

Bitrix24 does not de-duplicate ``imconnector.send.messages`` (pitfall P17). A job marked ``maybe_sent``
went out in a call whose answer was never recorded: the process died mid-call, or the answer was lost
(a read timeout). Each session's history (``imopenlines.session.history.get``) lists the external ids
(``connectorMid``) of the messages it holds, so such a job is settled as sent when its id is there and
sent again only when it is not. One history read per (chat, session), all in one ``batch`` request.

What cannot be checked goes out again, so nothing is lost: a conversation whose first call was the
ambiguous one (no chat is known yet to look in), and a history Bitrix24 refuses to show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import partial

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.bitrix24.errors import Bitrix24Error, PermanentError
from openline_bridge.logging import get_logger
from openline_bridge.worker.batching import call_together
from openline_bridge.worker.handlers.base import Ready
from openline_bridge.worker.handlers.outgoing import external_message_id
from openline_bridge.worker.handlers.send import accepted
from openline_bridge.worker.outcomes import Done, Outcome, Retry

__all__ = ["already_delivered"]

_log = get_logger(__name__)

Where = tuple[int, int]  # (bitrix_chat_id, bitrix_session_id)


def _where(entry: Ready) -> Where | None:
    conversation = entry.item.where.conversation
    if conversation.bitrix_chat_id is None or conversation.bitrix_session_id is None:
        return None
    return conversation.bitrix_chat_id, conversation.bitrix_session_id


async def already_delivered(caller: RestCaller, portal_id: int, ready: Sequence[Ready]) -> dict[int, Outcome]:
    """Outcomes, by job id, of the ``maybe_sent`` send jobs that must not simply be sent again.

    ``Done`` for a message the chat already holds; ``Retry`` (still marked) when its history could not be
    read right now. Jobs absent from the answer are to be sent.
    """
    checkable: dict[Where, list[Ready]] = defaultdict(list)
    unknown = 0
    for entry in ready:
        if entry.job.maybe_sent:
            where = _where(entry)
            if where is None:
                unknown += 1
            else:
                checkable[where].append(entry)
    if unknown:
        _log.warning("worker.resend_unverifiable", portal_id=portal_id, jobs=unknown, reason="no chat yet")
    if not checkable:
        return {}
    places = list(checkable)
    histories = await call_together(
        caller,
        [partial(methods.session_connector_ids, bitrix_chat_id=c, bitrix_session_id=s) for c, s in places],
    )
    outcomes: dict[int, Outcome] = {}
    for (chat, session), history in zip(places, histories, strict=True):
        entries = checkable[(chat, session)]
        if isinstance(history, PermanentError):
            # the portal will not show this history: sending again is the only way not to lose the message
            _log.warning(
                "worker.resend_unverifiable", portal_id=portal_id, jobs=len(entries), reason=history.code
            )
            continue
        for entry in entries:
            if isinstance(history, Bitrix24Error):
                outcomes[entry.job.id] = Retry(f"history not readable: {history}", maybe_sent=True)
            elif external_message_id(entry.item) in history:
                outcomes[entry.job.id] = Done(accepted(entry.item.message.id, chat, session))
    if outcomes:
        _log.info(
            "worker.reconciled",
            portal_id=portal_id,
            delivered=sum(isinstance(outcome, Done) for outcome in outcomes.values()),
            waiting=sum(isinstance(outcome, Retry) for outcome in outcomes.values()),
        )
    return outcomes
