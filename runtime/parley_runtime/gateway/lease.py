"""Exactly one gateway replica holds each long-lived platform connection: a coordination.k8s.io Lease.

The holder renews the Lease every `renew_interval`; a replica that sees a Lease whose
`renewTime + leaseDurationSeconds` lies in the past takes it over. Every write carries the
`resourceVersion` it read (a merge patch with that precondition), so when two replicas race, the
API server answers 409 to the slower one. A holder that cannot renew for `renew_deadline`
(shorter than the duration, so its successor cannot start before it stopped) or that sees another
holder cancels its connection task at once.
"""

import asyncio
import contextlib
import datetime
import enum
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

__all__ = ["AlwaysLeader", "KubeAPI", "Leadership", "LeaseElector", "kube_client"]

log = logging.getLogger("parley.lease")

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
IN_CLUSTER_URL = "https://kubernetes.default.svc"

OnAcquired = Callable[[], Awaitable[None]]


class Leadership(Protocol):
    async def run(self, on_acquired: OnAcquired) -> None: ...


class AlwaysLeader:
    """`parley serve`: one process, no cluster; the connection runs at once."""

    is_leader = True

    async def run(self, on_acquired: OnAcquired) -> None:
        await on_acquired()


@dataclass(frozen=True)
class KubeAPI:
    """Where the API server is and how to authenticate; `in_cluster()` inside a pod."""

    base_url: str
    token_path: Path | None = None
    ca_path: Path | None = None

    @classmethod
    def in_cluster(cls, service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> "KubeAPI":
        return cls(IN_CLUSTER_URL, service_account_dir / "token", service_account_dir / "ca.crt")

    def headers(self) -> dict[str, str]:
        """Read on every call: the kubelet rotates projected service-account tokens."""
        if self.token_path is None:
            return {}
        return {"Authorization": f"Bearer {self.token_path.read_text().strip()}"}


def kube_client(api: KubeAPI, *, timeout: float = 5.0) -> httpx.AsyncClient:
    """A client that trusts the cluster CA; the app shares it between the leases it holds."""
    verify: ssl.SSLContext | bool = True
    if api.ca_path is not None:
        verify = ssl.create_default_context(cafile=str(api.ca_path))
    return httpx.AsyncClient(verify=verify, timeout=timeout)


def _micro_time(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class _Outcome(enum.Enum):
    HELD = "held"  # we hold the lease now
    OTHER = "other"  # someone else holds it (or won the race)
    UNKNOWN = "unknown"  # could not tell: API unreachable or unexpected answer


class LeaseElector:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api: KubeAPI,
        name: str,
        namespace: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_interval: float | None = None,
        renew_deadline: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.api = api
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_interval = renew_interval if renew_interval is not None else lease_duration / 3
        self.renew_deadline = renew_deadline if renew_deadline is not None else lease_duration * 2 / 3
        self._clock = clock
        self._sleep = sleep
        self.is_leader = False

    @property
    def _collection(self) -> str:
        base = self.api.base_url.rstrip("/")
        return f"{base}/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases"

    async def run(self, on_acquired: OnAcquired) -> None:
        """Runs `on_acquired()` while holding the lease; returns only when cancelled."""
        task: asyncio.Future[None] | None = None
        last_renewed = 0.0
        try:
            while True:
                outcome = await self._try_hold()
                now = self._clock()
                if outcome is _Outcome.HELD:
                    last_renewed = now
                    if task is None or task.done():
                        if task is not None:
                            _report_end(task)
                        log.info("lease acquired", extra={"lease": self.name, "identity": self.identity})
                        task = asyncio.ensure_future(on_acquired())
                    self.is_leader = True
                elif task is not None and (
                    outcome is _Outcome.OTHER or now - last_renewed > self.renew_deadline
                ):
                    log.warning("lease lost", extra={"lease": self.name, "reason": outcome.value})
                    await _stop(task)
                    task = None
                    self.is_leader = False
                elif task is None:
                    self.is_leader = False
                await self._sleep(self.renew_interval)
        finally:
            if task is not None:
                await _stop(task)
            if self.is_leader:
                self.is_leader = False
                await self._release()

    async def _try_hold(self) -> _Outcome:
        url = f"{self._collection}/{self.name}"
        try:
            response = await self.http.get(url, headers=self.api.headers())
            if response.status_code == 404:
                return await self._create()
            if response.status_code != 200:
                return self._unexpected("read", response)
            lease = response.json()
            spec = lease.get("spec") or {}
            now = self._clock()
            holder = spec.get("holderIdentity")
            if holder == self.identity:
                patch: dict[str, Any] = {"renewTime": _micro_time(now), "leaseDurationSeconds": self._seconds}
            elif holder and not self._expired(spec, now):
                return _Outcome.OTHER
            else:
                patch = self._taken_over(spec, now)
            return await self._write(url, lease, patch)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            log.warning("lease API unreachable", extra={"lease": self.name, "error": type(exc).__name__})
            return _Outcome.UNKNOWN

    @property
    def _seconds(self) -> int:
        return max(1, round(self.lease_duration))

    def _expired(self, spec: dict[str, Any], now: float) -> bool:
        renewed = _parse_time(spec.get("renewTime")) or _parse_time(spec.get("acquireTime"))
        duration = spec.get("leaseDurationSeconds") or self._seconds
        return renewed is None or renewed + float(duration) < now

    def _taken_over(self, spec: dict[str, Any], now: float) -> dict[str, Any]:
        stamp = _micro_time(now)
        return {
            "holderIdentity": self.identity,
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseDurationSeconds": self._seconds,
            "leaseTransitions": int(spec.get("leaseTransitions") or 0)
            + (1 if spec.get("holderIdentity") else 0),
        }

    async def _create(self) -> _Outcome:
        stamp = _micro_time(self._clock())
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "acquireTime": stamp,
                "renewTime": stamp,
                "leaseDurationSeconds": self._seconds,
                "leaseTransitions": 0,
            },
        }
        response = await self.http.post(self._collection, json=body, headers=self.api.headers())
        if response.status_code in (200, 201):
            return _Outcome.HELD
        if response.status_code == 409:  # another replica created it first
            return _Outcome.OTHER
        return self._unexpected("create", response)

    async def _write(self, url: str, lease: dict[str, Any], spec: dict[str, Any]) -> _Outcome:
        """Merge patch guarded by the resourceVersion we read: a stale one gets 409."""
        version = (lease.get("metadata") or {}).get("resourceVersion")
        body: dict[str, Any] = {"spec": spec}
        if version is not None:
            body["metadata"] = {"resourceVersion": version}
        headers = {**self.api.headers(), "Content-Type": "application/merge-patch+json"}
        response = await self.http.patch(url, json=body, headers=headers)
        if response.status_code == 409:
            return _Outcome.OTHER
        if response.status_code != 200:
            return self._unexpected("update", response)
        held = (response.json().get("spec") or {}).get("holderIdentity") == self.identity
        return _Outcome.HELD if held else _Outcome.OTHER

    def _unexpected(self, action: str, response: httpx.Response) -> _Outcome:
        log.warning(
            "unexpected lease API answer",
            extra={"lease": self.name, "action": action, "status": response.status_code},
        )
        return _Outcome.UNKNOWN

    async def _release(self) -> None:
        """On a clean stop, let a successor in at once instead of after the duration."""
        url = f"{self._collection}/{self.name}"
        spec = {
            "holderIdentity": None,
            "renewTime": _micro_time(self._clock() - 1),
            "leaseDurationSeconds": 1,
        }
        headers = {**self.api.headers(), "Content-Type": "application/merge-patch+json"}
        try:
            current = await self.http.get(url, headers=self.api.headers())
            if (
                current.status_code == 200
                and (current.json().get("spec") or {}).get("holderIdentity") == self.identity
            ):
                version = (current.json().get("metadata") or {}).get("resourceVersion")
                body = {"metadata": {"resourceVersion": version}, "spec": spec}
                await self.http.patch(url, json=body, headers=headers)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            log.info("lease not released; it will expire", extra={"error": type(exc).__name__})


async def _stop(task: asyncio.Future[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        try:
            await task
        except Exception as exc:  # the connection's own failure: already over
            log.warning("leader task failed", extra={"error": type(exc).__name__})


def _report_end(task: asyncio.Future[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("leader task failed; restarting it", extra={"error": type(error).__name__})
    else:
        log.info("leader task ended; restarting it")
