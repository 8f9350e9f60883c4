"""The robot callback signature: Base64(HMAC-SHA256(key=appSecret, timestamp_ms + "\\n" + appSecret))."""

import base64
import hashlib
import hmac


def sign(timestamp_ms: str, app_secret: str) -> str:
    message = f"{timestamp_ms}\n{app_secret}".encode()
    return base64.b64encode(hmac.new(app_secret.encode(), message, hashlib.sha256).digest()).decode()


def sign_ok(given: str, timestamp_ms: str, app_secret: str) -> bool:
    return hmac.compare_digest(sign(timestamp_ms, app_secret).encode(), given.encode())
