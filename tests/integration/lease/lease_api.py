"""A tiny Kubernetes API for coordination.k8s.io/v1 Leases that, unlike KMock, enforces
`metadata.resourceVersion` on writes: a stale one is answered 409 Conflict, as a real API server does.

Supports GET, POST (create; 409 AlreadyExists), PATCH (JSON merge patch) and PUT (replace).
`interfere_before_next_write(holder)` makes another replica win the race once: just before the next
write is applied, that holder takes and renews the lease, so the writer's resourceVersion is stale.
"""

import copy
import datetime
import itertools
import threading
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PREFIX = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


def _status(code: int, reason: str, message: str) -> JSONResponse:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": message,
            "code": code}  # fmt: skip
    return JSONResponse(body, status_code=code)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class LeaseApi:
    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], dict[str, Any]] = {}
        self.conflicts = 0
        self.authorization: set[str] = set()  # Authorization headers seen
        self.writes: list[tuple[str, str]] = []  # (verb, holderIdentity after the write)
        self._versions = itertools.count(100)
        self._lock = threading.Lock()
        self._interferer: str | None = None
        self.app = Starlette(
            routes=[
                Route(PREFIX, self._create, methods=["POST"]),
                Route(PREFIX + "/{name}", self._item, methods=["GET", "PATCH", "PUT"]),
            ]
        )

    def holder(self, name: str, namespace: str = "default") -> str | None:
        with self._lock:
            lease = self.leases.get((namespace, name))
            return None if lease is None else lease.get("spec", {}).get("holderIdentity")

    def interfere_before_next_write(self, holder: str) -> None:
        self._interferer = holder

    def _bump(self, lease: dict[str, Any]) -> None:
        lease.setdefault("metadata", {})["resourceVersion"] = str(next(self._versions))

    async def _create(self, request: Request) -> JSONResponse:
        self.authorization.add(request.headers.get("authorization", ""))
        namespace = request.path_params["namespace"]
        body = await request.json()
        name = body.get("metadata", {}).get("name")
        with self._lock:
            if (namespace, name) in self.leases:
                return _status(409, "AlreadyExists", f'leases "{name}" already exists')
            body["metadata"].update(namespace=namespace, uid=str(uuid.uuid4()))
            self._bump(body)
            self.leases[(namespace, name)] = body
            self.writes.append(("create", body.get("spec", {}).get("holderIdentity")))
            return JSONResponse(body, status_code=201)

    async def _item(self, request: Request) -> JSONResponse:
        self.authorization.add(request.headers.get("authorization", ""))
        key = (request.path_params["namespace"], request.path_params["name"])
        body = None if request.method == "GET" else await request.json()
        with self._lock:
            lease = self.leases.get(key)
            if lease is None:
                return _status(404, "NotFound", f'leases "{key[1]}" not found')
            if request.method == "GET":
                return JSONResponse(lease)
            if self._interferer is not None:
                now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                lease["spec"].update(holderIdentity=self._interferer, renewTime=now)
                self._interferer = None
                self._bump(lease)
            wanted = (body.get("metadata") or {}).get("resourceVersion")
            if wanted is not None and wanted != lease["metadata"]["resourceVersion"]:
                self.conflicts += 1
                return _status(409, "Conflict", "the object has been modified; please apply your changes "
                               "to the latest version and try again")  # fmt: skip
            updated = merge_patch(lease, body) if request.method == "PATCH" else body
            updated["metadata"] = dict(lease["metadata"])  # server-owned: name, uid, resourceVersion
            self._bump(updated)
            self.leases[key] = updated
            self.writes.append((request.method.lower(), updated.get("spec", {}).get("holderIdentity")))
            return JSONResponse(updated)
