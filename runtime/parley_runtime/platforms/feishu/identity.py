"""Who the bot is on Feishu, asked of the API only when a group message needs it, and remembered.

A message event lists who was @-mentioned by open_id but not which of them is the bot, and names the
message it replies to (`parent_id`) without saying who wrote that one. The adapter therefore asks
`GET /open-apis/bot/v3/info` once (for the first group message with mentions) and
`GET /open-apis/im/v1/messages/{parent_id}` only for group replies that mention no bot. Both run
while the callback waits, so each has a time budget well inside Feishu's 3-second deadline; a failure
never blocks intake: the bot's open_id falls back to "any mention counts" and is asked again a minute
later, and an unknown parent counts as someone else's message.
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable

from parley_runtime.platforms.errors import SendError
from parley_runtime.platforms.feishu import client

log = logging.getLogger(__name__)

LOOKUP_SECONDS = 1.2  # each; both in one callback still leave room inside the 3 s deadline
RETRY_AFTER = 60.0
REMEMBERED_PARENTS = 4096


class BotIdentity:
    def __init__(self, api: client.FeishuClient, clock: Callable[[], float], *, binding: str) -> None:
        self._api = api
        self._clock = clock
        self._binding = binding
        self._open_id: str | None = None
        self._retry_at = 0.0
        self._lock = asyncio.Lock()
        self._parents: OrderedDict[str, bool] = OrderedDict()

    def __repr__(self) -> str:
        return f"BotIdentity(known={self._open_id is not None}, parents={len(self._parents)})"

    async def open_id(self) -> str | None:
        """The bot's open_id, or None while it cannot be learnt."""
        if self._open_id is not None or self._clock() < self._retry_at:
            return self._open_id
        async with self._lock:
            if self._open_id is not None or self._clock() < self._retry_at:
                return self._open_id
            try:
                self._open_id = await asyncio.wait_for(self._api.bot_open_id(), LOOKUP_SECONDS)
            except (SendError, TimeoutError) as exc:
                self._retry_at = self._clock() + RETRY_AFTER
                log.warning(
                    "feishu: bot info unavailable (%s); any @-mention counts until it is learnt",
                    type(exc).__name__,
                    extra={"binding": self._binding},
                )
        return self._open_id

    async def wrote(self, message_id: str) -> bool:
        """Whether the bot sent message `message_id` (remembered once Feishu answered either way)."""
        if message_id in self._parents:
            self._parents.move_to_end(message_id)
            return self._parents[message_id]
        try:
            mine = await asyncio.wait_for(self._api.sent_by_this_app(message_id), LOOKUP_SECONDS)
        except client.Rejected:
            mine = False  # deleted, or not visible to the bot: not one it can be asked about
        except (SendError, TimeoutError) as exc:
            log.warning(
                "feishu: replied-to message unknown (%s)",
                type(exc).__name__,
                extra={"binding": self._binding},
            )
            return False
        self._parents[message_id] = mine
        if len(self._parents) > REMEMBERED_PARENTS:
            self._parents.popitem(last=False)
        return mine
