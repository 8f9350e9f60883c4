"""The adapter context: the `Origin` it stamps on inbound messages comes from its binding and its clock."""

import dataclasses

import httpx
import pytest

from adapter_contexts import make_adapter_context
from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin


async def test_origin_is_the_binding_at_the_time_of_the_call() -> None:
    now = [1_700_000_000.0]
    async with httpx.AsyncClient() as http:
        ctx = make_adapter_context("slack", http=http, clock=lambda: now[0])
        first = ctx.origin()
        now[0] += 5
        assert first == Origin(
            bot="helpdesk", platform="slack", binding="helpdesk-slack", received_at=1_700_000_000.0
        )
        assert ctx.origin().received_at == 1_700_000_005.0
        with pytest.raises(dataclasses.FrozenInstanceError):
            first.received_at = 0.0  # type: ignore[misc]


def test_inbound_fields_are_what_a_message_takes_from_its_origin() -> None:
    origin = Origin(bot="b", platform="qq", binding="b-qq", received_at=4.0)
    assert origin.inbound_fields() == dataclasses.asdict(origin)
    message = InboundMessage(**origin.inbound_fields(), event_id="e", chat_id="c", user_id="u", text="t")
    assert (message.bot, message.platform, message.binding, message.received_at) == ("b", "qq", "b-qq", 4.0)
