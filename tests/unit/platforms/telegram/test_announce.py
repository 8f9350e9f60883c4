"""`announce` posts one plain `sendMessage` to a chat the bot is in, with no message to reply to."""

from collections.abc import Callable

import pytest

from fakes.telegram_api import FakeTelegram
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.telegram import adapter


async def test_announce_sends_plain_text_to_the_chat(
    make_adapter: Callable[..., adapter.TelegramAdapter], telegram: tuple[FakeTelegram, str]
) -> None:
    fake, _ = telegram
    before = len(fake.calls("sendMessage"))
    await make_adapter().announce("-1001234567890", "canary promoted: helpdesk r42 → 100 %")
    (call,) = fake.calls("sendMessage")[before:]
    assert call.path == f"/bot{fake.token}/sendMessage"  # the token in the path is the credential
    assert call.json() == {"chat_id": "-1001234567890", "text": "canary promoted: helpdesk r42 → 100 %"}


async def test_a_refused_chat_is_a_permanent_error(
    make_adapter: Callable[..., adapter.TelegramAdapter], telegram: tuple[FakeTelegram, str]
) -> None:
    fake, _ = telegram
    answer = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    fake.api.script("POST", fake.path("sendMessage"), status=400, body=answer)
    with pytest.raises(PermanentSendError, match="chat not found") as raised:
        await make_adapter().announce("-100999", "canary aborted")
    assert fake.token not in str(raised.value)
