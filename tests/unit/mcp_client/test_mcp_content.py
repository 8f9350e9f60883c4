"""`mcp_client.content`: a tool's result as text for the model and pictures for the user's reply."""

import base64

from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from parley_runtime.core.protocols import PluginOutput
from parley_runtime.mcp_client import content

PNG = bytes.fromhex("89504e470d0a1a0a") + b"pixels"


def _result(*blocks: object, **fields: object) -> CallToolResult:
    return CallToolResult.model_validate({"content": list(blocks), **fields})


def test_text_blocks_are_joined_for_the_model() -> None:
    result = _result(TextContent(text="line one"), TextContent(text="line two"))
    assert content.tool_output("search", result) == "line one\nline two"


def test_an_image_becomes_an_attachment_and_the_model_is_told() -> None:
    image = ImageContent(data=base64.b64encode(PNG).decode(), mime_type="image/png")
    answer = content.tool_output("chart", _result(TextContent(text="sales"), image))
    assert isinstance(answer, PluginOutput)
    assert answer.text == "sales\n[1 image(s) from chart will be sent to the user with your reply]"
    [attachment] = answer.attachments
    assert (attachment.kind, attachment.mime_type, attachment.size) == ("image", "image/png", len(PNG))
    assert attachment.url == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_images_that_are_not_pictures_or_not_base64_or_too_big_are_left_out() -> None:
    for block in (
        ImageContent(data=base64.b64encode(PNG).decode(), mime_type="text/html"),
        ImageContent(data="not base64!", mime_type="image/png"),
        ImageContent(data="A" * (content.MAX_IMAGE_BYTES * 2), mime_type="image/png"),
    ):
        answer = content.tool_output("chart", _result(block))
        assert answer == "[an image the tool returned was left out: too large or unreadable]"


def test_other_blocks_are_described_in_one_line_each() -> None:
    result = _result(
        AudioContent(data="AAAA", mime_type="audio/ogg"),
        EmbeddedResource(resource=TextResourceContents(uri="file:///a.txt", text="file text")),
        EmbeddedResource(
            resource=BlobResourceContents(uri="file:///a.bin", blob="AAAA", mime_type="application/zip")
        ),
        ResourceLink(uri="https://example.com/report", name="report"),
    )
    assert content.tool_output("get", result).splitlines() == [
        "[audio/ogg audio left out]",
        "file text",
        "[application/zip resource file:///a.bin left out]",
        "[resource report: https://example.com/report]",
    ]


def test_structured_content_alone_is_given_as_json() -> None:
    result = _result(structuredContent={"temperature": 21, "sky": "clear"})
    assert content.tool_output("weather", result) == '{"temperature": 21, "sky": "clear"}'


def test_an_error_result_is_an_error_line_without_pictures() -> None:
    image = ImageContent(data=base64.b64encode(PNG).decode(), mime_type="image/png")
    assert content.tool_output(
        "search", _result(TextContent(text="quota exceeded"), image, isError=True)
    ) == ("error: search: quota exceeded")
    assert content.tool_output("search", _result(isError=True)) == "error: search: the tool failed"


def test_long_text_is_cut() -> None:
    answer = content.tool_output("dump", _result(TextContent(text="x" * (content.MAX_TEXT_CHARS + 10))))
    assert isinstance(answer, str)
    assert answer.endswith(" … (cut)") and len(answer) == content.MAX_TEXT_CHARS + len(" … (cut)")
