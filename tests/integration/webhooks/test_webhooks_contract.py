"""Every platform through the real app: webhook in → verify/parse → de-dup → queue → engine → echo model →
adapter.send → the platform's fake API records the reply, exactly once.

"Nothing else was sent" is proven the same way each time: after the request under test, a different
message is delivered and its reply awaited; the engine handles messages in order, so by then any reply
the first request could have caused has been recorded too.
"""

from __future__ import annotations

import pytest

from integration.webhooks.drivers.base import Driver, Sent, answer
from integration.webhooks.drivers.catalog import DRIVERS
from integration.webhooks.harness import Parley, deliver, eventually
from parley_runtime.core.protocols import WebhookRequest

ALL = list(DRIVERS)
ONE_FEISHU = [name for name in ALL if name != "lark"]  # lark shares feishu's adapter: covered once


async def post(app: Parley, drv: Driver, request: WebhookRequest) -> tuple[int, bytes]:
    response = await deliver(app, request, platform=drv.platform, binding=drv.binding.name)
    return response.status_code, response.content


async def replies(drv: Driver, count: int) -> list[Sent]:
    def enough() -> list[Sent] | None:
        found = drv.sent()
        return found if len(found) >= count else None

    return await eventually(enough)


def expected(drv: Driver, *numbers: int) -> list[Sent]:
    return [Sent(answer(n), drv.address(n)) for n in numbers]


@pytest.mark.parametrize("driver", ALL, indirect=True)
async def test_valid_message_is_acked_and_answered_exactly_once(parley: Parley, driver: Driver) -> None:
    status, body = await post(parley, driver, driver.valid(1))
    assert driver.ack_ok(status, body), (status, body)
    assert await replies(driver, 1) == expected(driver, 1)
    assert driver.ack_ok(*await post(parley, driver, driver.valid(2)))
    assert await replies(driver, 2) == expected(driver, 1, 2)
    assert await parley.counter("parley_messages_total", platform=driver.platform, outcome="ok") == 2
    assert await parley.counter("parley_webhook_rejected_total") == 0


@pytest.mark.parametrize("driver", ONE_FEISHU, indirect=True)
async def test_redelivery_is_acked_again_but_never_answered_twice(parley: Parley, driver: Driver) -> None:
    first = driver.valid(1)
    assert driver.ack_ok(*await post(parley, driver, first))
    await replies(driver, 1)
    for _ in range(2):  # the platform's retries of the very same callback
        assert driver.ack_ok(*await post(parley, driver, first))
    assert driver.ack_ok(*await post(parley, driver, driver.valid(2)))
    assert await replies(driver, 2) == expected(driver, 1, 2)
    assert await parley.counter("parley_duplicates_total", platform=driver.platform) == 2


@pytest.mark.parametrize("driver", ONE_FEISHU, indirect=True)
async def test_forged_request_is_refused_counted_and_never_answered(parley: Parley, driver: Driver) -> None:
    status, body = await post(parley, driver, driver.forged(1))
    assert status == driver.forged_status, body
    for secret in driver.binding.credentials.values():
        assert secret.encode() not in body
    assert await parley.counter("parley_webhook_rejected_total", platform=driver.platform) == 1
    assert driver.ack_ok(*await post(parley, driver, driver.valid(2)))
    assert await replies(driver, 1) == expected(driver, 2)
    assert await parley.counter("parley_messages_total", platform=driver.platform) == 1


@pytest.mark.parametrize("driver", ONE_FEISHU, indirect=True)
async def test_junk_body_is_a_4xx_and_never_answered(parley: Parley, driver: Driver) -> None:
    status, body = await post(parley, driver, driver.junk())
    assert 400 <= status < 500, (status, body)
    assert driver.ack_ok(*await post(parley, driver, driver.valid(2)))
    assert await replies(driver, 1) == expected(driver, 2)


@pytest.mark.parametrize("driver", ONE_FEISHU, indirect=True)
async def test_unknown_binding_or_platform_mismatch_is_404(parley: Parley, driver: Driver) -> None:
    request = driver.valid(1)
    other = "slack" if driver.platform != "slack" else "telegram"
    for platform, binding in ((driver.platform, "no-such-binding"), (other, driver.binding.name)):
        response = await deliver(parley, request, platform=platform, binding=binding)
        assert (response.status_code, response.json()) == (404, {"error": "unknown platform or binding"})
    assert driver.ack_ok(*await post(parley, driver, driver.valid(2)))
    assert await replies(driver, 1) == expected(driver, 2)


@pytest.mark.parametrize("driver", ["telegram"], indirect=True)
async def test_oversized_body_and_other_paths_and_methods(parley: Parley, driver: Driver) -> None:
    path = f"/webhook/{driver.platform}/{driver.binding.name}"
    huge = await parley.client.post(path, content=b"x" * ((1 << 20) + 1))
    assert (huge.status_code, huge.json()) == (413, {"error": "body too large"})
    # not a callback route: FastAPI answers (404 for unknown paths, 405 for other methods)
    assert (await parley.client.post(f"{path}/extra", content=b"{}")).status_code == 404
    assert (await parley.client.post(f"/webhook/{driver.platform}/", content=b"{}")).status_code == 404
    assert (await parley.client.put(path, content=b"{}")).status_code in (404, 405)
    assert driver.ack_ok(*await post(parley, driver, driver.valid(2)))
    assert await replies(driver, 1) == expected(driver, 2)
    assert await parley.counter("parley_messages_total", platform=driver.platform) == 1
