"""The worker turns replies into outbound messages: model answers as Markdown, everything else as plain
text, images and voice as attachments, all kept in the sent ledger before delivery."""

from pathlib import Path
from typing import Any

from factories import make_inbound
from parley_runtime.core import media
from parley_runtime.core.messages import Attachment, OutboundMessage
from parley_runtime.engine import worker
from parley_runtime.engine.media import IMAGES_UNSUPPORTED
from parley_runtime.plugins.api import Answer, Image, Plugin
from parley_runtime.queue.sqlite_queue import SqliteQueue
from unit.engine.bench import PNG, Bench, Provider


async def test_each_reply_goes_out_in_its_format_with_its_attachments(bench: Bench, tmp_path: Path) -> None:
    plugin = Plugin("cats")

    @plugin.command("cat")
    async def cat(ctx: Any, args: str) -> Answer:
        return Answer("", images=[Image(PNG)])  # a picture alone is a reply too

    pipeline = await bench.pipeline(
        (Provider("chat", text="**sure**"), []), plugins=[plugin], rateLimit={"perUserPerMinute": 3}
    )
    photo = Attachment(kind="image", url=media.data_url(PNG, "image/png"))
    messages = [
        make_inbound("hi", event_id="1"),
        make_inbound("/cat", event_id="2"),
        make_inbound("look", event_id="3", attachments=(photo,)),
        make_inbound("again", event_id="4"),
    ]
    queue = await SqliteQueue.open(tmp_path / "queue.sqlite3", bot="helpdesk")
    ledger = queue.ledger()
    sent: list[OutboundMessage] = []

    async def deliver(outbound: OutboundMessage) -> None:
        sent.append(outbound)

    deliveries = queue.consume("stable", "test")
    try:
        for m in messages:
            await queue.put(m)
        for _ in messages:
            await worker.process(await anext(deliveries), pipeline, deliver, ledger)
        kept = [await ledger.reply(m.key) for m in messages]
    finally:
        await deliveries.aclose()  # type: ignore[attr-defined]  # the consumer stops at once
        await queue.close()

    assert [(o.text, o.format) for o in sent] == [
        ("**sure**", "markdown"),
        ("", "text"),
        (IMAGES_UNSUPPORTED, "text"),
        ("You are sending messages too fast. Please wait a moment and try again.", "text"),
    ]
    assert [a.url for a in sent[1].attachments] == [media.data_url(PNG, "image/png")]
    assert [a.attachments for a in sent if a is not sent[1]] == [(), (), ()]
    assert kept == sent  # kept before delivery, as sent
