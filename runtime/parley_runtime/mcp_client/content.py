"""A tool call's result as the pipeline takes it: text for the model, pictures for the user's reply.

Text blocks are joined; an image becomes an attachment holding a `data:` URL (the form media takes in
replies) and a line telling the model it was sent; audio, binary resources and links are described in
one line each, since the model reads only text. Bounded: the text is cut past `MAX_TEXT_CHARS`, an image
past `MAX_IMAGE_BYTES` is left out. Pure.
"""

import base64
import binascii
import json

from mcp_types import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from parley_runtime.core import media
from parley_runtime.core.messages import Attachment
from parley_runtime.core.protocols import PluginOutput

__all__ = ["MAX_IMAGE_BYTES", "MAX_TEXT_CHARS", "tool_output"]

MAX_TEXT_CHARS = 100_000
MAX_IMAGE_BYTES = 10 << 20


def _image(block: ImageContent) -> Attachment | None:
    if not block.mime_type.startswith("image/") or len(block.data) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return None
    try:
        data = base64.b64decode(block.data, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data or len(data) > MAX_IMAGE_BYTES:
        return None
    return Attachment(
        kind="image", mime_type=block.mime_type, size=len(data), url=media.data_url(data, block.mime_type)
    )


def _lines(result: CallToolResult) -> tuple[list[str], list[Attachment]]:
    lines: list[str] = []
    images: list[Attachment] = []
    for block in result.content:
        if isinstance(block, TextContent):
            lines.append(block.text)
        elif isinstance(block, ImageContent):
            image = _image(block)
            if image is None:
                lines.append("[an image the tool returned was left out: too large or unreadable]")
            else:
                images.append(image)
        elif isinstance(block, AudioContent):
            lines.append(f"[{block.mime_type} audio left out]")
        elif isinstance(block, EmbeddedResource):
            resource = block.resource
            if isinstance(resource, TextResourceContents):
                lines.append(resource.text)
            else:
                lines.append(f"[{resource.mime_type or 'binary'} resource {resource.uri} left out]")
        elif isinstance(block, ResourceLink):
            lines.append(f"[resource {block.name}: {block.uri}]")
    if not lines and not images and result.structured_content is not None:
        lines.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return lines, images


def tool_output(name: str, result: CallToolResult) -> str | PluginOutput:
    """The answer of the tool the model knows as `name`: `error: …` when the tool says it failed."""
    lines, images = _lines(result)
    if result.is_error:
        text = "\n".join(lines).strip() or "the tool failed"
        return f"error: {name}: {_cut(text)}"
    if images:
        lines.append(f"[{len(images)} image(s) from {name} will be sent to the user with your reply]")
    text = _cut("\n".join(lines))
    return PluginOutput(text=text, attachments=tuple(images)) if images else text


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + " … (cut)"
