"""What every handler shares, built once by the runner and passed in (no module-level state)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import kopf

from parley_operator.handlers.inventory import Inventory
from parley_operator.handlers.reconcile import Outcome, Reconciler, utc_now
from parley_operator.k8s.client import KubeClient
from parley_operator.k8s.connection import Credentials, http_client
from parley_operator.metrics import OperatorMetrics

BINDINGS_INDEX = "parley_bindings"


@dataclass
class OperatorContext:
    metrics: OperatorMetrics
    image: str | None = None
    concurrency: int = 16
    max_in_flight: int = 8
    timer_interval: float = 300.0
    # How often a ChatBot in a gray release is looked at again: steps and analysis windows move on
    # time alone, so they need a tick; the clock itself is `now` (the wall clock of status).
    canary_tick: float = 15.0
    now: Callable[[], str] = utc_now
    credentials: Credentials = field(default_factory=Credentials)
    inventory: Inventory = field(default_factory=Inventory)
    _http: httpx.AsyncClient | None = None
    _client: KubeClient | None = None
    _scrape: httpx.AsyncClient | None = None
    _reconciler: Reconciler | None = None
    # Set once the cleanup starts closing the clients: a reconcile failing from then on is the exit's.
    closing: bool = False

    def client(self) -> KubeClient:
        """Built on first use, after kopf's login filled `credentials`."""
        if self._client is None:
            self._http = http_client(self.credentials.current(), max_connections=self.max_in_flight)
            self._client = KubeClient(self._http, self.credentials, max_in_flight=self.max_in_flight)
        return self._client

    def scrape(self) -> httpx.AsyncClient:
        """A plain client for the engines' /metrics and Prometheus: never the API's credentials."""
        if self._scrape is None:
            self._scrape = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
        return self._scrape

    @property
    def reconciler(self) -> Reconciler:
        if self._reconciler is None:
            self._reconciler = Reconciler(
                self.client,
                self.metrics,
                self.inventory,
                image=self.image,
                concurrency=self.concurrency,
                now=self.now,
                scrape=self.scrape,
            )
        return self._reconciler

    async def close(self) -> None:
        self.closing = True
        if self._reconciler is not None:
            await self._reconciler.notifier.aclose()
        if self._http is not None:
            await self._http.aclose()
            self._http, self._client = None, None
        if self._scrape is not None:
            await self._scrape.aclose()
            self._scrape = None


def bindings_of(index: Any, namespace: str, bot: str) -> list[Mapping[str, Any]]:
    """The bindings of one bot from kopf's in-memory index (filled before any handler runs)."""
    if index is None:
        return []
    return list(index.get((namespace, bot), ()))


def report(outcome: Outcome) -> None:
    """Turn notable transitions of a reconcile into Kubernetes Events (never with secret values)."""
    body = outcome.body
    if body is None or not outcome.found:
        return
    applied = outcome.applied
    if applied.created:
        _post(body, type="Normal", reason="Created", message=_names("created", applied.created))
    if applied.patched:
        _post(body, type="Normal", reason="Updated", message=_names("updated", applied.patched))
    if applied.deleted:
        _post(body, type="Normal", reason="Deleted", message=_names("deleted", applied.deleted))
    if outcome.reason != outcome.previous_reason and not outcome.ready:
        _post(body, type="Warning", reason=outcome.reason, message=outcome.message)
    for binding, ok, reason, message in outcome.binding_changes:
        _post(binding, type="Normal" if ok else "Warning", reason=reason, message=message)
    for event in outcome.canary_events:
        _post(body, type=event.type, reason=event.reason, message=event.message)


def _post(body: Mapping[str, Any], *, type: str, reason: str, message: str) -> None:
    kopf.event(kopf.Body(cast(kopf.RawBody, dict(body))), type=type, reason=reason, message=message)


def _names(verb: str, refs: list[Any]) -> str:
    shown = ", ".join(str(r) for r in sorted(refs)[:8])
    more = f" and {len(refs) - 8} more" if len(refs) > 8 else ""
    return f"{verb} {shown}{more}"
