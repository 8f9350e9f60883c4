"""Where the API is and how to authenticate, and the `httpx.AsyncClient` built from it.

The credentials come from kopf's login (kubeconfig or in-cluster service account), so the operator's
own client and kopf's watches use the same identity. `Credentials` is a mutable holder: kopf re-runs
login when a token expires, and the next request picks the new token up.
"""

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Connection:
    server: str
    insecure: bool = False
    ca_path: str | None = None
    ca_data: str | None = None
    certificate_path: str | None = None
    certificate_data: str | None = None
    private_key_path: str | None = None
    private_key_data: str | None = None
    scheme: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never print a token or key
        return f"Connection(server={self.server!r})"

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"{self.scheme or 'Bearer'} {self.token}"}
        if self.username and self.password:
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        return {}


class Credentials:
    """The current `Connection`; replaced by the login handler, read on every request."""

    def __init__(self, connection: Connection | None = None) -> None:
        self.connection = connection

    def __repr__(self) -> str:
        return "Credentials(…)"

    def current(self) -> Connection:
        if self.connection is None:
            raise RuntimeError("not logged in to the Kubernetes API yet")
        return self.connection


def _pem_file(data: str, directory: str) -> str:
    """kubeconfig inlines PEM data; `ssl` wants files. Written 0600 into a private directory."""
    text = data if "-----BEGIN" in data else base64.b64decode(data).decode()
    fd, path = tempfile.mkstemp(suffix=".pem", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def _ssl_context(conn: Connection) -> ssl.SSLContext | bool:
    if conn.insecure:
        return False
    ctx = ssl.create_default_context()
    if conn.ca_path:
        ctx.load_verify_locations(cafile=conn.ca_path)
    elif conn.ca_data:
        text = conn.ca_data if "-----BEGIN" in conn.ca_data else base64.b64decode(conn.ca_data).decode()
        ctx.load_verify_locations(cadata=text)
    cert, key = conn.certificate_path, conn.private_key_path
    if conn.certificate_data or conn.private_key_data:
        directory = tempfile.mkdtemp(prefix="parley-operator-")
        if conn.certificate_data:
            cert = _pem_file(conn.certificate_data, directory)
        if conn.private_key_data:
            key = _pem_file(conn.private_key_data, directory)
    if cert:
        ctx.load_cert_chain(certfile=cert, keyfile=key)
    return ctx


def http_client(conn: Connection, *, max_connections: int = 32, timeout: float = 30.0) -> httpx.AsyncClient:
    """One pooled client for all the operator's own requests (not the watches: kopf owns those)."""
    return httpx.AsyncClient(
        base_url=conn.server.rstrip("/"),
        verify=_ssl_context(conn),
        timeout=httpx.Timeout(timeout, connect=10.0),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        headers={"Accept": "application/json", "User-Agent": "parley-operator"},
    )
