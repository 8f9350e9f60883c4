"""KMock 0.8 as the Kubernetes API for operator tests and the operator benchmark.

KMock stores objects and streams watch events but leaves out what a real API server fills in
itself. `ParleyEmulator` adds the parts kopf and the operator depend on (see docs/testing.md):

- server-side metadata on create: apiVersion/kind, namespace from the URL, uid,
  creationTimestamp, generation 1, and a resourceVersion that grows with every write;
- `metadata.generation` bumped when a write changes `spec` (kstatus' observedGeneration needs it);
- `/status` isolation: a write to `/status` changes only `status`, a write to the object itself
  never changes `status` of a kind that has the subresource;
- 422 instead of 500 when a JSON-patch `test` operation fails (kopf relies on it);
- lists that carry a resourceVersion, and watches that continue from it instead of replaying every
  object as ADDED, and that do not lose the events written while they start;
- O(1) lookup of a named object (KMock scans all objects per request), and a request log that holds
  only the requests being served (KMock scans it for each request), so that long runs stay flat.

`Cluster` and the manifest factories are what tests use to drive it through the real
`kubernetes` client; `wait_for` polls with a deadline (a wait, not a timing assertion).

`KMockThread` serves one emulator on 127.0.0.1 from a background thread with its own event loop,
so that the synchronous `kubernetes` client and an operator subprocess can both talk to it.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import itertools
import json
import os
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import jsonpatch
import kmock
import kubernetes
import yaml
from kmock._internal import enums

from fakes.ports import free_port

T = TypeVar("T")

PARLEY_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete"})


def declare_resources(k: kmock.KubernetesScaffold) -> None:
    """KMock ignores CRDs: the discovery info for our kinds has to be declared directly."""
    with warnings.catch_warnings():  # kmock 0.8 reads its bundle with a deprecated importlib API
        warnings.simplefilter("ignore", DeprecationWarning)
        k.resources.load_bundled()
    for plural, kind in (("chatbots", "ChatBot"), ("platformbindings", "PlatformBinding")):
        k.resources[f"parley.dev/v1alpha1/{plural}"] = kmock.ResourceInfo(
            kind=kind,
            singular=kind.lower(),
            namespaced=True,
            subresources={"status"},
            verbs=set(PARLEY_VERBS),
        )


def _api_version(res: kmock.resource) -> str:
    return f"{res.group}/{res.version}" if res.group else str(res.version)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ParleyEmulator(kmock.KubernetesEmulator):
    """KMock's emulator plus the server-side behaviour listed in the module docstring."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._versions = itertools.count(1000)
        self._last_version = 999
        self._serving: set[int] = set()

    def _stored(self, request: kmock.Request) -> dict[str, Any] | None:
        key = (request.resource, request.namespace, request.name)
        if not request.name or key not in self._objects:
            return None
        obj = self._objects[key]
        if obj.deleted:
            return None
        raw: dict[str, Any] = obj.raw
        return raw

    def _has_status(self, res: kmock.resource) -> bool:
        info = self.resources.get(res)
        return bool(info is not None and "status" in (info.subresources or ()))

    def _fill_create(self, request: kmock.Request, rv: str) -> None:
        res = request.resource
        body: dict[str, Any] = request.data
        body.setdefault("apiVersion", _api_version(res))
        info = self.resources.get(res)
        if "kind" not in body and info is not None and info.kind:
            body["kind"] = info.kind
        meta = body.setdefault("metadata", {})
        if request.namespace and not meta.get("namespace"):
            meta["namespace"] = request.namespace
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        meta["generation"] = 1
        meta["resourceVersion"] = rv

    def _fill_merge_patch(self, request: kmock.Request, rv: str) -> None:
        patch: dict[str, Any] = request.data
        stored = self._stored(request)
        if self._has_status(request.resource):
            if request.subresource == "status":
                for key in [k for k in patch if k not in ("status", "metadata")]:
                    del patch[key]
                patch.get("metadata", {}).pop("generation", None)
            else:
                patch.pop("status", None)
        meta = patch.setdefault("metadata", {})
        meta["resourceVersion"] = rv
        if stored is not None and "spec" in patch:
            merged = _merge(copy.deepcopy(stored.get("spec")), patch["spec"])
            if merged != stored.get("spec"):
                meta["generation"] = int(stored.get("metadata", {}).get("generation") or 1) + 1

    def _fill_json_patch(self, request: kmock.Request, rv: str) -> None:
        ops: list[dict[str, Any]] = request.data
        stored = self._stored(request)
        if stored is not None and any(str(op.get("path", "")).startswith("/spec") for op in ops):
            gen = int(stored.get("metadata", {}).get("generation") or 1) + 1
            ops.append({"op": "add", "path": "/metadata/generation", "value": gen})
        ops.append({"op": "add", "path": "/metadata/resourceVersion", "value": rv})

    async def _handle(self, request: kmock.Request) -> Any:
        # KMock finds the reaction for a request by scanning the request log for it, once per reaction,
        # so a long log makes every request slow. Nothing reads the log: it keeps only the requests
        # being served (each still has to find itself in it, possibly after waiting for the lock).
        self._serving.add(id(request))
        self._requests[:] = [r for r in self._requests if id(r) in self._serving]
        try:
            return await self._handle_serving(request)
        finally:
            self._serving.discard(id(request))

    async def _handle_serving(self, request: kmock.Request) -> Any:
        if request.resource is not None and isinstance(request.data, dict | list):
            self._last_version = next(self._versions)
            rv = str(self._last_version)
            if request.action == enums.action.CREATE and isinstance(request.data, dict):
                self._fill_create(request, rv)
            elif request.action == enums.action.UPDATE and isinstance(request.data, dict):
                self._fill_merge_patch(request, rv)
            elif request.action == enums.action.UPDATE and isinstance(request.data, list):
                self._fill_json_patch(request, rv)
        try:
            return await super()._handle(request)
        except jsonpatch.JsonPatchTestFailed as e:
            raise kmock.KubernetesError(status=422, reason="Invalid", message=str(e)) from e

    def _KubernetesEmulator__get_objs(self, request: kmock.Request, strict: bool) -> list[Any]:
        """A dict lookup for requests that name one object; KMock scans every stored object, which
        makes a GET cost O(objects) and a 1,000-bot run quadratic. Lists and watches scan as before."""
        if strict and request.name is not None and request.resource is not None:
            key = (request.resource, request.namespace, request.name)
            return [self._objects[key]] if key in self._objects else []
        found: list[Any] = super()._KubernetesEmulator__get_objs(request, strict)  # type: ignore[misc]
        return found

    async def _serve_list(self, request: kmock.Request) -> Any:
        """A list carries the resourceVersion it is current to, so a watch can continue from it."""
        version = self._last_version  # read before the snapshot: a watch from it misses nothing
        listing: dict[str, Any] = await super()._serve_list(request)
        listing["metadata"] = {"resourceVersion": str(version)}
        return listing

    async def _serve_watch(self, request: kmock.Request) -> AsyncIterator[Any]:
        """Two fixes over KMock's watch. (1) From `?resourceVersion=N` (what kopf sends after its
        list) only objects changed since N are sent, not every object as ADDED again: a stale replay
        makes kopf patch from an old state, fail the patch's `test`, and wait for an event that never
        comes. (2) The bus position is marked under the lock of the snapshot, so writes made while the
        snapshot is sent are not lost."""
        yield b""
        since = request.params.get("resourceVersion", "")
        bus = self._buses[request.resource]
        async with self._lock:
            mark = await bus.mark()
            objs = [o for o in self._KubernetesEmulator__get_objs(request, strict=False) if not o.deleted]
            if since.isdigit():
                changed = [
                    o for o in objs if int(o.get("metadata", {}).get("resourceVersion", 0)) > int(since)
                ]
                events = [{"type": "MODIFIED", "object": o.raw} for o in changed]
            else:
                events = [{"type": "ADDED", "object": o.raw} for o in objs]
        try:
            for event in events:
                yield event
            async for event in bus.stream(since=mark):
                meta = event.get("object", {}).get("metadata", {})
                if self._KubernetesEmulator__check(  # type: ignore[attr-defined]
                    request, request.resource, meta.get("namespace"), meta.get("name"), strict=False
                ):
                    yield event
        finally:
            await bus.unmark(mark)


def _merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch, only to tell whether a spec write changes anything."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


class KMockThread:
    """One emulator + HTTP server on 127.0.0.1, served from a daemon thread with its own loop."""

    def __init__(self, setup: Callable[[kmock.KubernetesScaffold], None] = declare_resources) -> None:
        self._setup = setup
        self.emulator: ParleyEmulator | None = None
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="kmock")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:  # reported by start()
            self._error = e
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with ParleyEmulator() as emulator, kmock.Server(emulator) as server:
            self._setup(emulator)
            self.emulator = emulator
            self.url = str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def start(self) -> KMockThread:
        self._thread.start()
        if not self._ready.wait(15) or self._error is not None:
            raise RuntimeError(f"KMock did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def __enter__(self) -> KMockThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, factory: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10) -> T:
        """Run a coroutine on the emulator's loop (its state is not thread-safe)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(factory(), self._loop).result(timeout)

    def write_kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        """A kubeconfig for both kopf's login and the `kubernetes` client (plain HTTP, no auth)."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kmock", "cluster": {"server": self.url}}],
            "users": [{"name": "kmock", "user": {}}],
            "contexts": [
                {"name": "kmock", "context": {"cluster": "kmock", "user": "kmock", "namespace": namespace}}
            ],
            "current-context": "kmock",
        }
        path.write_text(yaml.safe_dump(config))
        return path


# --- the test side: the real `kubernetes` client against the emulator ---
NAMESPACE = "bots"
GROUP, VERSION = "parley.dev", "v1alpha1"
DEADLINE = 40.0  # generous: the suite runs four workers on two cores


def wait_for(probe: Callable[[], T | None], what: str, deadline: float = DEADLINE) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` after `deadline` seconds."""
    end = time.monotonic() + deadline
    last: Any = None
    while time.monotonic() < end:
        try:
            last = probe()
        except kubernetes.client.ApiException as e:
            last = e
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


class Cluster:
    """Thin helpers over the `kubernetes` client, all in one namespace."""

    def __init__(self, api: kubernetes.client.ApiClient, namespace: str = NAMESPACE) -> None:
        self.ns = namespace
        self.custom = kubernetes.client.CustomObjectsApi(api)
        self.core = kubernetes.client.CoreV1Api(api)
        self.apps = kubernetes.client.AppsV1Api(api)
        self.autoscaling = kubernetes.client.AutoscalingV2Api(api)
        self.policy = kubernetes.client.PolicyV1Api(api)
        self.api = api

    def create(self, plural: str, body: dict[str, Any]) -> None:
        self.custom.create_namespaced_custom_object(GROUP, VERSION, self.ns, plural, body)

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.ns, plural, name
            )
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return None
            raise
        return obj

    def patch(self, plural: str, name: str, patch: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.ns, plural, name, patch)

    def raw(self, path: str) -> dict[str, Any] | None:
        """GET a path as a plain dict (no typed models), None on 404."""
        response = self.api.call_api("GET", self.api.configuration.host + path)
        response.read()
        if response.status == 404:
            return None
        if response.status >= 400:
            raise kubernetes.client.ApiException(status=response.status, reason=response.reason)
        result: dict[str, Any] = json.loads(response.data)
        return result

    def deployment(self, name: str) -> dict[str, Any] | None:
        return self.raw(f"/apis/apps/v1/namespaces/{self.ns}/deployments/{name}")

    def condition(self, plural: str, name: str, type_: str) -> dict[str, Any] | None:
        obj = self.get(plural, name) or {}
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond.get("type") == type_:
                result: dict[str, Any] = cond
                return result
        return None

    def secret(self, name: str, data: dict[str, str]) -> None:
        self.core.create_namespaced_secret(self.ns, {"metadata": {"name": name}, "stringData": data})


def chatbot(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "1.4.0",
        "models": {
            "routes": [
                {
                    "name": "main",
                    "provider": "openai-compatible",
                    "baseURL": "https://api.deepseek.com/v1",
                    "model": "deepseek-chat",
                    "apiKey": {"secretKeyRef": {"name": "llm", "key": "deepseek"}},
                }
            ]
        },
    }
    body.update(spec)
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ChatBot", "metadata": {"name": name}, "spec": body}


def binding(name: str, bot: str, platform: str, secret: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"botRef": {"name": bot}, "platform": platform}
    if secret:
        spec["credentials"] = {"secretRef": {"name": secret}}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PlatformBinding",
        "metadata": {"name": name},
        "spec": spec,
    }


class OperatorProcess:
    """`parley operator` as a subprocess against a kubeconfig; output goes to `log` (appended, so
    restarts keep one log). Stopped with SIGTERM, as Kubernetes stops a pod."""

    def __init__(self, kubeconfig: Path, log: Path) -> None:
        self.kubeconfig, self.log = kubeconfig, log
        self.metrics_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        parley = str(Path(sys.executable).with_name("parley"))
        cmd = [parley, "operator", "--metrics-port", str(self.metrics_port)]
        cmd += ["--liveness", f"http://127.0.0.1:{free_port()}/healthz"]
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
