"""Which reply attachments WeCom and WeChat's temporary-media API take (上传临时素材: JPG/PNG for WeCom,
PNG/JPEG/GIF for WeChat, 10 MB), decided before any upload."""

from parley_runtime.core.media import data_url
from parley_runtime.core.messages import Attachment
from parley_runtime.platforms.common import wxapi
from parley_runtime.platforms.wechat_mp import client as mp_client
from parley_runtime.platforms.wecom import client as wecom_client

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def image(data: bytes, mime: str) -> Attachment:
    return Attachment(kind="image", mime_type=mime, url=data_url(data, mime))


def test_accepted_images_come_back_decoded() -> None:
    assert wxapi.image_to_upload(image(PNG, "image/png"), wecom_client.IMAGE_TYPES) == ("image/png", PNG)
    assert wxapi.image_to_upload(image(b"GIF89a", "image/gif"), mp_client.IMAGE_TYPES) == (
        "image/gif",
        b"GIF89a",
    )


def test_refusals_say_why() -> None:
    gif = image(b"GIF89a", "image/gif")
    assert (
        wxapi.image_to_upload(gif, wecom_client.IMAGE_TYPES)
        == "image/gif is not one of image/jpeg, image/jpg, image/png"
    )
    big = image(b"\xff\xd8" + b"\x00" * wxapi.MAX_IMAGE_BYTES, "image/jpeg")
    assert wxapi.image_to_upload(big, wecom_client.IMAGE_TYPES) == "larger than 10 MB"
    linked = Attachment(kind="image", mime_type="image/png", url="https://cdn.example/a.png")
    assert wxapi.image_to_upload(linked, mp_client.IMAGE_TYPES) == "not a data URL"
    voice = Attachment(kind="audio", mime_type="audio/amr", url=data_url(b"#!AMR\n", "audio/amr"))
    assert wxapi.image_to_upload(voice, mp_client.IMAGE_TYPES) == "audio attachments are not sent"
