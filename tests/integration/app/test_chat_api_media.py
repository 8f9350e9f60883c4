"""The chat API with pictures and voice (SPEC §4, §12), and sessions named by the caller's user_id."""

import base64
import contextlib
import email.parser
import email.policy
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from factories import chatbot_doc, dump_yaml
from fakes.llm_servers import FakeOpenAI, key_for
from fakes.served import record, serve
from parley_runtime.app import bootstrap, routes_chat
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings

KiB = 1024
MiB = 1024 * KiB
# A 1×1 PNG as a browser would send it.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(text="a **cat**") as srv:
        yield srv


def route(name: str, base_url: str, model: str, *capabilities: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "openai-compatible",
        "model": model,
        "baseURL": base_url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "capabilities": list(capabilities),
        "retries": 0,
        "timeout": "5s",
        **extra,
    }


def bot(fake: FakeOpenAI, *more_routes: dict[str, Any], **spec: Any) -> dict[str, Any]:
    routes = [route("main", fake.url, fake.model, "vision"), *more_routes]
    return chatbot_doc("demo", models={"routes": routes}, **spec)


# A plugin answering `/chart` with a picture, as a plugin author writes one.
CHART_PLUGIN = """
import base64
from parley_runtime.plugins.api import Answer, Image, Plugin

plugin = Plugin("chart")

@plugin.command("chart")
def chart(ctx, args):
    return Answer("Here is your **chart**", images=[Image(base64.b64decode({png!r}), "image/png")])
"""


@contextlib.asynccontextmanager
async def client(tmp_path: Path, doc: dict[str, Any], **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real `parley serve` app (lifespan running, the chart plugin in its folder), in process."""
    (tmp_path / "bot.yaml").write_text(dump_yaml(doc))
    (tmp_path / "secrets" / "llm").mkdir(parents=True, exist_ok=True)
    (tmp_path / "secrets" / "llm" / "main").write_text(key_for("main"))
    (tmp_path / "plugins").mkdir(exist_ok=True)
    (tmp_path / "plugins" / "chart.py").write_text(CHART_PLUGIN.format(png=b64(PNG)))
    runtime = RuntimeSettings(
        config_files=(tmp_path / "bot.yaml",),
        secrets_dir=tmp_path / "secrets",
        data_dir=tmp_path / "data",
        plugins_dir=tmp_path / "plugins",
        role="serve",
        **settings,
    )
    app = create_app(bootstrap.load(runtime))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as c:
            yield c


def sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def user_texts(body: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for m in body["messages"]:
        if m["role"] != "user":
            continue
        parts = m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]
        texts.extend(p["text"] for p in parts if p.get("type") == "text")
    return texts


def images_sent(body: dict[str, Any]) -> list[str]:
    return [
        part["image_url"]["url"]
        for m in body["messages"]
        if isinstance(m["content"], list)
        for part in m["content"]
        if part.get("type") == "image_url"
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"message": "hi", "images": [{"data": b64(PNG), "url": "https://x.test/a.png"}]}, "exactly one"),
        ({"message": "hi", "images": [{"mime_type": "image/png"}]}, "exactly one of data (base64) and url"),
        ({"message": "hi", "images": [{"data": "not base64!"}]}, "images.0: data is not valid base64"),
        ({"message": "hi", "images": [{"url": "ftp://x.test/a.png"}]}, "http:// or https://"),
        ({"message": "hi", "images": [{"url": "file:///etc/passwd"}]}, "http:// or https://"),
        ({"message": "hi", "images": [{"data": b64(b"plain text")}]}, "not a PNG, JPEG, GIF or WebP"),
        ({"message": "hi", "images": [{"data": b64(PNG), "mime_type": "text/html"}]}, "must be image/"),
        ({"message": "hi", "images": [{"data": b64(PNG)}] * 9}, "images: List should have at most 8"),
        ({"message": "hi", "audio": {"data": b64(b"OggS")}}, "audio: mime_type is required"),
        ({"message": "hi", "audio": {"mime_type": "audio/ogg"}}, "audio.data: Field required"),
        ({"message": "hi", "audio": {"data": "%%%", "mime_type": "audio/ogg"}}, "not valid base64"),
        ({"message": ""}, "message: String should have at least 1 character"),
    ],
)
async def test_malformed_media_is_a_422_naming_the_problem(
    tmp_path: Path, fake: FakeOpenAI, body: dict[str, Any], problem: str
) -> None:
    async with client(tmp_path, bot(fake)) as c:
        r = await c.post("/api/v1/chat", json=body)
    assert r.status_code == 422 and problem in r.json()["error"], r.json()
    assert list(r.json()) == ["error"]
    assert "base64," not in r.text and b64(PNG) not in r.text  # no media echoed back
    assert fake.requests == []


async def test_media_over_the_bots_limits_is_a_413_saying_by_how_much(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    doc = bot(fake, media={"maxImageBytes": 64 * KiB, "maxAudioBytes": 100 * KiB})
    big_image = PNG + bytes(70 * KiB)
    big_audio = bytes(150 * KiB)
    async with client(tmp_path, doc) as c:
        image = await c.post(
            "/api/v1/chat", json={"message": "hi", "images": [{"data": b64(PNG)}, {"data": b64(big_image)}]}
        )
        audio = await c.post(
            "/api/v1/chat?stream=true",
            json={"message": "", "audio": {"data": b64(big_audio), "mime_type": "audio/ogg"}},
        )
        body = await c.post("/api/v1/chat", content=b'{"message": "' + b"A" * (400 * KiB) + b'"}')
    assert (image.status_code, image.json()) == (413, {"error": "image 2 is 70.1 KiB; the limit is 64 KiB"})
    assert (audio.status_code, audio.json()) == (413, {"error": "audio is 150 KiB; the limit is 100 KiB"})
    # The body may hold the text and the largest media base64-encoded (256 KiB + 4/3 × 100 KiB).
    assert (body.status_code, body.json()) == (413, {"error": "body too large: the limit is 389 KiB"})
    assert fake.requests == []


async def test_default_limits_name_the_image_and_both_sizes(tmp_path: Path, fake: FakeOpenAI) -> None:
    picture = PNG + bytes(int(11.2 * MiB) - len(PNG))
    async with client(tmp_path, bot(fake)) as c:
        r = await c.post(
            "/api/v1/chat", json={"message": "what is this?", "images": [{"data": b64(picture)}]}
        )
    assert (r.status_code, r.json()) == (413, {"error": "image 1 is 11.2 MiB; the limit is 10 MiB"})


async def test_a_user_continues_its_conversation_without_a_session_id(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    async with client(tmp_path, bot(fake)) as c:
        first = (await c.post("/api/v1/chat", json={"message": "I am Alice", "user_id": "alice"})).json()
        second = (await c.post("/api/v1/chat", json={"message": "who am I?", "user_id": "alice"})).json()
        streamed = await c.post("/api/v1/chat?stream=true", json={"message": "again?", "user_id": "alice"})
        other = (await c.post("/api/v1/chat", json={"message": "hello", "user_id": "bob"})).json()
        anonymous = [(await c.post("/api/v1/chat", json={"message": "hi"})).json() for _ in range(2)]
    done = sse_events(streamed.text)[-1]
    assert first["session_id"] == second["session_id"] == done["session_id"] != other["session_id"]
    assert anonymous[0]["session_id"] != anonymous[1]["session_id"]  # nobody named: nothing shared
    assert user_texts(fake.requests[1].body) == ["I am Alice", "who am I?"]
    assert user_texts(fake.requests[2].body) == ["I am Alice", "who am I?", "again?"]
    assert user_texts(fake.requests[3].body) == ["hello"]
    # The session follows from the user alone: after a restart (same data folder) Alice continues.
    async with client(tmp_path, bot(fake)) as c:
        later = (await c.post("/api/v1/chat", json={"message": "still there?", "user_id": "alice"})).json()
    assert later["session_id"] == first["session_id"]
    assert user_texts(fake.requests[-1].body)[0] == "I am Alice"


async def test_an_explicit_session_id_still_wins(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client(tmp_path, bot(fake)) as c:
        await c.post("/api/v1/chat", json={"message": "one", "user_id": "alice"})
        r = await c.post("/api/v1/chat", json={"message": "two", "user_id": "alice", "session_id": "fresh"})
    assert r.json()["session_id"] == "fresh"
    assert user_texts(fake.requests[1].body) == ["two"]


async def test_answer_without_media_has_exactly_the_documented_fields(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    async with client(tmp_path, bot(fake)) as c:
        r = await c.post("/api/v1/chat", json={"message": "hi"})
    assert set(r.json()) == {"reply", "session_id", "model", "track"}


def test_the_schema_documents_images_audio_and_attachments() -> None:
    schema = routes_chat.ChatBody.model_json_schema()
    assert {"images", "audio", "message", "user_id", "session_id"} <= set(schema["properties"])
    assert set(routes_chat.ChatAnswer.model_json_schema()["properties"]) >= {"attachments", "reply"}


@contextlib.contextmanager
def image_host(picture: bytes) -> Iterator[tuple[str, list[Any]]]:
    """A web server holding `/cat.png`, recording who fetched it."""
    fetched: list[Any] = []

    async def cat(request: Request) -> Response:
        fetched.append(await record(request))
        return Response(picture, media_type="image/png")

    with serve(Starlette(routes=[Route("/cat.png", cat)])) as base:
        yield f"{base}/cat.png", fetched


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "169.254.169.254", "10.1.2.3", "[::1]"])
async def test_a_picture_url_inside_the_network_is_never_fetched(
    tmp_path: Path, fake: FakeOpenAI, host: str
) -> None:
    with image_host(PNG) as (url, fetched):
        port = url.split(":")[-1].split("/")[0]
        async with client(tmp_path, bot(fake)) as c:
            r = await c.post(
                "/api/v1/chat",
                json={"message": "look", "images": [{"url": f"http://{host}:{port}/cat.png"}]},
            )
    assert r.status_code == 200
    assert "could not download that image" in r.json()["reply"]
    assert fetched == [] and fake.requests == []


async def test_images_inline_and_by_url_reach_the_vision_model(tmp_path: Path, fake: FakeOpenAI) -> None:
    with image_host(PNG) as (url, fetched):
        async with client(tmp_path, bot(fake), media_private_urls=True) as c:  # the host is 127.0.0.1
            r = await c.post(
                "/api/v1/chat",
                json={"message": "compare", "user_id": "u", "images": [{"data": b64(JPEG)}, {"url": url}]},
            )
    assert r.status_code == 200 and r.json()["reply"] == "a **cat**"
    assert images_sent(fake.requests[0].body) == [
        "data:image/jpeg;base64," + b64(JPEG),
        "data:image/png;base64," + b64(PNG),
    ]
    assert user_texts(fake.requests[0].body) == ["compare"]
    assert len(fetched) == 1  # the URL was fetched by the engine, once


async def test_a_data_url_and_an_image_without_text_are_accepted(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client(tmp_path, bot(fake)) as c:
        r = await c.post(
            "/api/v1/chat?stream=true",
            json={"message": "", "images": [{"data": "data:image/png;base64," + b64(PNG)}]},
        )
    assert r.status_code == 200 and sse_events(r.text)[-1]["reply"] == "a **cat**"
    assert images_sent(fake.requests[0].body) == ["data:image/png;base64," + b64(PNG)]


def multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """The parts of a multipart/form-data body by field name: (content type, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    found: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[str(part.get_param("name", header="content-disposition"))] = (part.get_content_type(), payload)
    return found


async def test_audio_is_transcribed_and_answered(tmp_path: Path, fake: FakeOpenAI) -> None:
    heard: list[Any] = []

    async def transcriptions(request: Request) -> JSONResponse:
        heard.append(multipart(request.headers["content-type"], await request.body()))
        return JSONResponse({"text": "what is the weather?"})

    voice = b"OggS" + bytes(100)
    with serve(
        Starlette(routes=[Route("/v1/audio/transcriptions", transcriptions, methods=["POST"])])
    ) as base:
        ears = route("ears", f"{base}/v1", "whisper-1", "stt")
        async with client(tmp_path, bot(fake, ears)) as c:
            r = await c.post(
                "/api/v1/chat",
                json={"message": "", "user_id": "u", "audio": {"data": b64(voice), "mime_type": "audio/ogg"}},
            )
    assert r.status_code == 200 and r.json()["reply"] == "a **cat**"
    (form,) = heard
    assert form["model"][1] == b"whisper-1" and form["file"] == ("audio/ogg", voice)
    assert "what is the weather?" in " ".join(user_texts(fake.requests[0].body))


async def test_reply_pictures_come_back_as_base64_attachments(tmp_path: Path, fake: FakeOpenAI) -> None:
    doc = bot(fake, plugins=[{"name": "chart"}])
    async with client(tmp_path, doc) as c:
        plain = await c.post("/api/v1/chat", json={"message": "/chart"})
        streamed = await c.post("/api/v1/chat?stream=true", json={"message": "/chart"})
    expected = [{"kind": "image", "mime_type": "image/png", "data": b64(PNG)}]
    assert plain.json()["reply"] == "Here is your **chart**"
    assert plain.json()["attachments"] == expected
    done = sse_events(streamed.text)[-1]
    assert done["done"] is True and done["attachments"] == expected
    assert fake.requests == []  # a plugin answered
