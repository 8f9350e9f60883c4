"""A small async Kubernetes REST client over one shared `httpx.AsyncClient`.

Why not the `kubernetes` package: it is synchronous (a thread per call) and deserialises every
response into typed models the operator does not need; the operator reads and writes plain dicts.
"""

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from parley_operator.k8s import errors, resources
from parley_operator.k8s.connection import Credentials
from parley_operator.observed import Ref

MERGE_PATCH = "application/merge-patch+json"


class KubeClient:
    """`max_in_flight` caps concurrent requests here, in front of httpx: httpcore's pool re-scans every
    queued request against every connection on each step, which turns a deep queue quadratic."""

    def __init__(self, http: httpx.AsyncClient, credentials: Credentials, *, max_in_flight: int = 8) -> None:
        self._http = http
        self._credentials = credentials
        self._max_in_flight = max_in_flight
        self._in_flight: asyncio.Semaphore | None = None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        headers = self._credentials.current().headers()
        if body is not None:
            headers["Content-Type"] = content_type
        if self._in_flight is None:  # created lazily: it binds to the running loop
            self._in_flight = asyncio.Semaphore(self._max_in_flight)
        try:
            async with self._in_flight:
                response = await self._http.request(method, path, json=body, params=params, headers=headers)
        except httpx.TransportError as e:
            raise errors.ApiError(0, "Unreachable", type(e).__name__) from None
        if response.status_code >= 400:
            raise _error(response)
        data: dict[str, Any] = response.json() if response.content else {}
        return data

    async def get(self, ref: Ref) -> dict[str, Any] | None:
        try:
            return await self._request("GET", resources.object_path(ref))
        except errors.NotFound:
            return None

    async def list(
        self, api_version: str, kind: str, namespace: str, *, labels: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Objects of a kind in a namespace; `labels` is sent as a selector AND re-checked here,
        because not every API (KMock, for one) honours selectors."""
        params = (
            {"labelSelector": ",".join(f"{k}={v}" for k, v in sorted(labels.items()))} if labels else None
        )
        data = await self._request(
            "GET", resources.collection_path(api_version, kind, namespace), params=params
        )
        items = [i for i in data.get("items") or [] if isinstance(i, dict)]
        if labels:
            items = [i for i in items if _has_labels(i, labels)]
        for item in items:  # list items carry no apiVersion/kind
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    async def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        ref = Ref.of(body)
        path = resources.collection_path(ref.api_version, ref.kind, ref.namespace)
        return await self._request("POST", path, body=dict(body))

    async def patch(
        self, ref: Ref, patch: Mapping[str, Any], *, subresource: str | None = None
    ) -> dict[str, Any]:
        path = resources.object_path(ref, subresource)
        return await self._request("PATCH", path, body=dict(patch), content_type=MERGE_PATCH)

    async def delete(self, ref: Ref) -> bool:
        try:
            await self._request(
                "DELETE", resources.object_path(ref), body={"propagationPolicy": "Background"}
            )
        except errors.NotFound:
            return False
        return True


def _has_labels(obj: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    have = (obj.get("metadata") or {}).get("labels") or {}
    return all(have.get(k) == v for k, v in labels.items())


def _error(response: httpx.Response) -> errors.ApiError:
    """Only the Status object's reason and message: never echo a body back."""
    reason, message = response.reason_phrase or "Error", ""
    try:
        status = response.json()
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        reason = str(status.get("reason") or reason)
        message = str(status.get("message") or "")
    return errors.for_status(response.status_code, reason, message)
