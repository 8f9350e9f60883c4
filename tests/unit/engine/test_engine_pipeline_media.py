"""The pipeline with pictures, voice notes and files: fetched within limits, routed by need, told to
the user when they cannot be used, kept in the session as text; replies carrying images and voice."""

from typing import Any

import pytest

from factories import make_inbound
from parley_runtime.core import media
from parley_runtime.core.chat import ToolCall
from parley_runtime.core.messages import Attachment
from parley_runtime.engine import media as engine_media
from parley_runtime.engine.pipeline import session_key
from parley_runtime.plugins.api import Answer, Image, Plugin, ToolResult
from unit.engine.bench import JPEG, PNG, Bench, Provider, Source

OGG = b"OggS\x00\x02voice"


def image(url: str = "tg://photo-1", **fields: Any) -> Attachment:
    return Attachment(kind="image", url=url, **fields)


def voice(url: str = "tg://voice-1", **fields: Any) -> Attachment:
    return Attachment(kind="audio", mime_type="audio/ogg", url=url, **fields)


def message(text: str = "", *attachments: Attachment, **fields: Any):
    return make_inbound(text, platform="telegram", attachments=attachments, **fields)


def user_turn(provider: Provider) -> Any:
    return provider.requests[-1].messages[-1]


async def history(bench: Bench, msg) -> list[tuple[str, str]]:
    assert bench.sessions is not None
    return [(m.role, m.content) for m in await bench.sessions.load(session_key(msg))]


async def test_a_plain_text_message_is_unchanged(bench: Bench) -> None:
    chat = Provider("chat")
    pipeline = await bench.pipeline((chat, ["vision"]))
    reply = await pipeline.handle(message("hi"))
    assert (reply.text, reply.outcome, reply.attachments) == ("answer from chat", "ok", ())
    assert user_turn(chat).content == "hi" and user_turn(chat).images == ()


async def test_an_image_fetched_through_its_adapter_reaches_the_vision_route(bench: Bench) -> None:
    text, vision = Provider("text"), Provider("vision")
    source = Source({"tg://photo-1": PNG})
    fetch = engine_media.fetcher({("telegram", "helpdesk-telegram"): source}, None)
    pipeline = await bench.pipeline(
        (text, []), (vision, ["vision"]), fetch=fetch, media={"maxImageBytes": 4096}
    )
    msg = message("what is this?", image(mime_type="application/octet-stream"))

    reply = await pipeline.handle(msg)

    assert (reply.text, reply.outcome) == ("answer from vision", "ok")
    assert source.asked == [("tg://photo-1", 4096)]  # the bot's limit travels to the adapter
    turn = user_turn(vision)
    assert turn.content == "what is this?"
    assert turn.images == (media.data_url(PNG, "image/png"),)  # the type read from the bytes
    assert text.requests == []
    assert await history(bench, msg) == [
        ("user", "[image] what is this?"),
        ("assistant", "answer from vision"),
    ]


async def test_inline_images_decode_in_place_and_keep_no_bytes_in_the_session(bench: Bench) -> None:
    vision = Provider("vision")
    pipeline = await bench.pipeline((vision, ["vision"]))  # no fetch at all: data URLs need none
    jpeg, png = media.data_url(JPEG, "image/jpeg"), media.data_url(PNG, "image/png")
    msg = message("", image(jpeg), image(png))

    reply = await pipeline.handle(msg)

    assert reply.outcome == "ok"
    assert user_turn(vision).images == (jpeg, png) and user_turn(vision).content == ""
    stored = await history(bench, msg)
    assert stored[0] == ("user", "[image] [image]")
    assert "base64" not in str(stored)


async def test_an_image_over_the_limit_gets_the_short_reply_and_no_model_call(bench: Bench) -> None:
    vision = Provider("vision")
    source = Source({"tg://photo-1": PNG})
    fetch = engine_media.fetcher({("telegram", "helpdesk-telegram"): source}, None)
    pipeline = await bench.pipeline((vision, ["vision"]), fetch=fetch, media={"maxImageBytes": 1024})

    declared = await pipeline.handle(message("look", image(size=5000)))
    inline = await pipeline.handle(
        message("look", image(media.data_url(b"\x89PNG" + b"x" * 2000, "image/png")))
    )

    for reply in (declared, inline):
        assert (reply.text, reply.outcome) == (
            "That image is too large: the limit is 1 KiB.",
            "media_refused",
        )
    assert source.asked == [] and vision.requests == []
    assert bench.count("media_refused") == 2


async def test_media_the_platform_will_not_hand_over_is_an_error_reply(bench: Bench) -> None:
    vision = Provider("vision")
    source = Source({}, error=media.MediaUnavailable("image", "HTTP 404"))
    broken = Source({}, error=KeyError("an adapter bug"))
    pipeline = await bench.pipeline(
        (vision, ["vision"]), fetch=engine_media.fetcher({("telegram", "helpdesk-telegram"): source}, None)
    )
    buggy = await bench.pipeline(
        (vision, ["vision"]), fetch=engine_media.fetcher({("telegram", "helpdesk-telegram"): broken}, None)
    )
    nowhere = await bench.pipeline((vision, ["vision"]), fetch=engine_media.fetcher({}, None))

    for p in (pipeline, buggy, nowhere):
        reply = await p.handle(message("", image()))
        assert (reply.text, reply.outcome) == (
            "Sorry, I could not download that image. Please send it again.",
            "error",
        )
    malformed = await pipeline.handle(message("", image("data:image/png;base64,%%%")))
    assert malformed.outcome == "error"
    assert vision.requests == []


async def test_without_a_vision_route_the_user_is_told_and_nothing_is_downloaded(bench: Bench) -> None:
    chat = Provider("chat")
    source = Source({"tg://photo-1": PNG})
    pipeline = await bench.pipeline(
        (chat, ["tools"]), fetch=engine_media.fetcher({("telegram", "helpdesk-telegram"): source}, None)
    )
    reply = await pipeline.handle(message("what is this?", image()))
    assert (reply.text, reply.outcome) == (engine_media.IMAGES_UNSUPPORTED, "unsupported")
    assert source.asked == [] and chat.requests == []
    assert bench.count("unsupported") == 1


async def test_the_platforms_transcript_is_the_text_and_no_stt_route_is_needed(bench: Bench) -> None:
    chat = Provider("chat")
    pipeline = await bench.pipeline((chat, []))
    msg = message("", voice(transcript="what time is it"))
    reply = await pipeline.handle(msg)
    assert reply.outcome == "ok"
    assert user_turn(chat).content == "what time is it"
    assert await history(bench, msg) == [
        ("user", "[voice] what time is it"),
        ("assistant", "answer from chat"),
    ]


async def test_a_voice_note_is_transcribed_by_the_stt_route_before_the_caption(bench: Bench) -> None:
    chat, whisper = Provider("chat"), Provider("whisper", transcript=" turn the lights on ")
    source = Source({"tg://voice-1": OGG})
    pipeline = await bench.pipeline(
        (whisper, ["stt"]),
        (chat, []),
        fetch=engine_media.fetcher({("telegram", "helpdesk-telegram"): source}, None),
    )
    reply = await pipeline.handle(message("please", voice()))
    assert reply.outcome == "ok" and reply.text == "answer from chat"
    assert whisper.heard == [(OGG, "audio/ogg")] and whisper.requests == []
    assert user_turn(chat).content == "turn the lights on\n\nplease"
    assert source.asked == [("tg://voice-1", 25 * 1024 * 1024)]

    inline = await pipeline.handle(
        message("", Attachment(kind="audio", url=media.data_url(OGG, "audio/webm")))
    )
    assert inline.outcome == "ok" and whisper.heard[-1] == (OGG, "audio/webm")  # the data URL's type


async def test_voice_without_an_stt_route_or_with_failing_ones_is_told(bench: Bench) -> None:
    chat, whisper = Provider("chat"), Provider("whisper")
    whisper.fail_speech = True
    inline = voice(media.data_url(OGG, "audio/ogg"))
    unheard = await (await bench.pipeline((chat, []))).handle(message("", inline))
    failing = await (await bench.pipeline((chat, []), (whisper, ["stt"]))).handle(message("", inline))
    assert (unheard.text, unheard.outcome) == (engine_media.VOICE_UNSUPPORTED, "unsupported")
    assert (failing.text, failing.outcome) == (engine_media.VOICE_FAILED, "error")
    assert chat.requests == []


async def test_a_file_is_named_to_the_model_and_checked_against_its_limit(bench: Bench) -> None:
    chat = Provider("chat")
    pipeline = await bench.pipeline((chat, []), media={"maxFileBytes": 4096})
    doc = Attachment(kind="file", mime_type="application/pdf", size=2048, name="report.pdf", url="tg://doc")
    msg = message("summarise please", doc)

    reply = await pipeline.handle(msg)
    too_big = await pipeline.handle(message("", doc.model_copy(update={"size": 5000})))

    assert reply.outcome == "ok"
    assert user_turn(chat).content == "summarise please\n\n[file: report.pdf, application/pdf, 2 KiB]"
    assert (await history(bench, msg))[0][
        1
    ] == "summarise please\n\n[file: report.pdf, application/pdf, 2 KiB]"
    assert (too_big.text, too_big.outcome) == ("That file is too large: the limit is 4 KiB.", "media_refused")


@pytest.mark.parametrize("streamed", [False, True])
async def test_tools_are_not_offered_to_a_vision_route_without_them(bench: Bench, streamed: bool) -> None:
    tooled, vision = Provider("tooled"), Provider("vision")
    plugin = Plugin("weather")

    @plugin.tool("weather", description="today's weather")
    async def weather(ctx: Any) -> str:
        return "sunny"

    pipeline = await bench.pipeline((tooled, ["tools"]), (vision, ["vision"]), plugins=[plugin])
    msg = message("is it sunny here?", image(media.data_url(PNG, "image/png")))
    if streamed:
        events = [e async for e in pipeline.stream(msg)]
        reply = events[-1].reply
        assert reply is not None and "".join(e.delta for e in events) == "answer from vision"
    else:
        reply = await pipeline.handle(msg)
    assert reply.outcome == "ok" and reply.text == "answer from vision"
    assert vision.requests[-1].tools == () and tooled.requests == []

    await pipeline.handle(message("and tomorrow?"))  # text only: the tools route, with the tools
    assert [t.name for t in tooled.requests[-1].tools] == ["weather"]


@pytest.mark.parametrize("streamed", [False, True])
async def test_images_a_tool_returns_go_to_the_reply_and_its_text_to_the_model(
    bench: Bench, streamed: bool
) -> None:
    model = Provider("model")
    model.script.append((ToolCall(id="c1", name="chart", arguments="{}"),))
    plugin = Plugin("charts")

    @plugin.tool("chart", description="draws a chart")
    async def chart(ctx: Any) -> ToolResult:
        return ToolResult("a chart of sales, attached", images=[Image(PNG, "image/png")])

    pipeline = await bench.pipeline((model, ["tools"]), plugins=[plugin])
    if streamed:
        reply = [e async for e in pipeline.stream(message("sales chart please"))][-1].reply
        assert reply is not None
    else:
        reply = await pipeline.handle(message("sales chart please"))

    assert (reply.text, reply.outcome) == ("answer from model", "ok")
    (attached,) = reply.attachments
    assert (attached.kind, attached.mime_type, attached.size) == ("image", "image/png", len(PNG))
    assert attached.url == media.data_url(PNG, "image/png")
    tool_turn = model.requests[-1].messages[-1]
    assert (tool_turn.role, tool_turn.content) == ("tool", "a chart of sales, attached")


async def test_a_command_may_answer_with_a_picture(bench: Bench) -> None:
    model = Provider("model")
    plugin = Plugin("cats")

    @plugin.command("cat")
    async def cat(ctx: Any, args: str) -> Answer:
        return Answer("here is a cat", images=[Image(JPEG, "image/jpeg")])

    @plugin.command("nothing")
    async def nothing(ctx: Any, args: str) -> Answer:
        return Answer()  # says nothing: the model answers instead

    pipeline = await bench.pipeline((model, []), plugins=[plugin])
    reply = await pipeline.handle(message("/cat"))
    declined = await pipeline.handle(message("/nothing"))

    assert (reply.text, reply.outcome, reply.model) == ("here is a cat", "plugin", "")
    assert [a.url for a in reply.attachments] == [media.data_url(JPEG, "image/jpeg")]
    assert declined.outcome == "ok" and len(model.requests) == 1


async def test_a_voice_note_is_answered_with_voice_when_the_bot_says_so(bench: Bench) -> None:
    chat, tts = Provider("chat", text="**It is** noon."), Provider("tts")
    spoken_voice = voice(transcript="what time is it")
    speaking = await bench.pipeline(
        (chat, []), (tts, ["tts"]), speech={"replyWithVoice": True, "voice": "nova"}
    )

    reply = await speaking.handle(message("", spoken_voice))
    typed = await speaking.handle(message("what time is it"))

    assert reply.text == "**It is** noon."  # the text still goes out
    (audio,) = reply.attachments
    assert (audio.kind, audio.mime_type) == ("audio", "audio/ogg")
    assert media.decode_data_url(audio.url or "") == ("audio/ogg", b"OggS-It is noon.")
    assert tts.spoken == [("It is noon.", "nova")]  # read as plain text, not Markdown
    assert typed.attachments == () and len(tts.spoken) == 1  # typed text is answered with text

    quiet = await bench.pipeline((chat, []), (tts, ["tts"]))  # replyWithVoice off
    assert (await quiet.handle(message("", spoken_voice))).attachments == ()
    no_tts = await bench.pipeline((chat, []), speech={"replyWithVoice": True})
    assert (await no_tts.handle(message("", spoken_voice))).attachments == ()
    tts.fail_speech = True
    failed = await speaking.handle(message("", spoken_voice))
    assert (failed.outcome, failed.text, failed.attachments) == ("ok", "**It is** noon.", ())


async def test_a_shared_session_is_one_context_per_chat(bench: Bench) -> None:
    chat = Provider("chat")
    pipeline = await bench.pipeline((chat, []))
    await pipeline.handle(message("I am Ann", user_id="ann", is_group=True, shared_session=True))
    await pipeline.handle(
        message("who spoke?", user_id="bob", is_group=True, shared_session=True, event_id="e2")
    )
    await pipeline.handle(message("alone", user_id="cy", is_group=True, event_id="e3"))
    assert [m.content for m in chat.requests[1].messages] == ["I am Ann", "answer from chat", "who spoke?"]
    assert [m.content for m in chat.requests[2].messages] == ["alone"]
    shared = message("x", user_id="zed", shared_session=True)
    assert session_key(shared).user_id == "*" and session_key(message("x")).user_id == "user-1"


def test_image_types_are_read_from_the_bytes() -> None:
    assert engine_media.image_mime(PNG, "application/octet-stream") == "image/png"
    assert engine_media.image_mime(JPEG, "image/png") == "image/jpeg"
    assert engine_media.image_mime(b"GIF89a...", "") == "image/gif"
    assert engine_media.image_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "") == "image/webp"
    assert engine_media.image_mime(b"????", "image/heic") == "image/heic"
    assert engine_media.image_mime(b"????", "application/octet-stream") == "image/jpeg"


async def test_http_urls_no_adapter_received_are_downloaded_and_others_are_not() -> None:
    fetched: list[tuple[str, int]] = []

    async def download(attachment: Attachment, url: str, max_bytes: int) -> bytes:
        fetched.append((url, max_bytes))
        return PNG

    fetch = engine_media.fetcher({}, download)
    api = make_inbound("x", platform="api")
    assert await fetch(api, image("https://img.test/cat.png"), 99) == PNG
    with pytest.raises(media.MediaUnavailable):
        await fetch(api, image("file:///etc/passwd"), 99)
    assert fetched == [("https://img.test/cat.png", 99)]


def test_plugin_pictures_are_checked_where_the_plugin_makes_them() -> None:
    with pytest.raises(TypeError, match="non-empty bytes"):
        Image(b"")
    with pytest.raises(ValueError, match="image type"):
        Image(b"text", "text/plain")
    with pytest.raises(TypeError, match="list of Image"):
        Answer("x", images=[PNG])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be a str"):
        ToolResult(3)  # type: ignore[arg-type]
    assert repr(Image(PNG)) == "Image(mime_type='image/png')"  # never the bytes
