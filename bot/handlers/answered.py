"""`answered`: wraps a listener so that no failure leaves the person without an answer.

A listener that raises is logged with its traceback and the person is told, in the
acknowledgement if it has not been sent yet, else ephemerally through the `response_url`. The
exception never reaches Bolt: when a listener fails within a few milliseconds of its `ack()`, Bolt's
asyncio runner resets the acknowledgement it has not yet sent to the error handler's (empty)
response, and the request then waits its 3 seconds and ends in 404 (bolt-python
`slack_bolt/listener/asyncio_runner.py`, `run_ack_function_asynchronously`).

Bolt passes a listener the arguments its signature names (`slack_bolt/util/utils.py`
`get_arg_names_of_callable`); the wrapper's signature is the listener's plus `ack`, `body` and
`respond`, and the listener is called with its own.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.slack.dialogs import notice_view

logger = logging.getLogger(__name__)

Listener = Callable[..., Awaitable[None]]

FAILED: Final = (
    "Something went wrong handling that; nothing may have changed. Please try again in a moment."
)
_NEEDED: Final = ("ack", "body", "respond")


async def acknowledge_failure(ack: AsyncAck, body: dict[str, Any], message: str) -> bool:
    """Acknowledge with `message` where the acknowledgement can show it; False if already sent."""
    if ack.response is not None:
        return False
    kind = body.get("type")
    if "command" in body and kind is None:
        await ack(text=message, response_type="ephemeral")
    elif kind == "block_suggestion":
        await ack(options=[])
    elif kind == "view_submission":
        await ack(response_action="update", view=notice_view(message))
    else:
        await ack()
    return kind is None or kind in ("block_suggestion", "view_submission")


async def tell(respond: AsyncRespond | None, body: dict[str, Any], message: str) -> None:
    """An ephemeral message through the request's response_url, when it has one."""
    if respond is None or not isinstance(body.get("response_url"), str):
        return
    try:
        await respond(text=message, response_type="ephemeral", replace_original=False)
    except Exception as exc:
        logger.warning("could not send an explanation to Slack: %s", type(exc).__name__)


def answered(listener: Listener) -> Listener:
    own = list(inspect.signature(listener).parameters)

    @functools.wraps(listener)
    async def run(**kwargs: Any) -> None:
        try:
            await listener(**{name: kwargs[name] for name in own})
        except Exception:
            logger.exception("the Slack listener %s failed", listener.__name__)
            shown = await acknowledge_failure(kwargs["ack"], kwargs["body"], FAILED)
            if not shown:
                await tell(kwargs["respond"], kwargs["body"], FAILED)

    del run.__wrapped__
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for name in dict.fromkeys([*own, *_NEEDED])
        ]
    )
    return run
