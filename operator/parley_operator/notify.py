"""Gray-release decisions told to a chat (`spec.canary.notify`) through one of the bot's own bindings.

The operator builds that binding's platform adapter for the one message, with the credentials read
from its Secret for the call and dropped after it, and posts with `announce`. A failure is a Warning
Event (`NotifyFailed`) on the ChatBot, never a failed reconcile: the decision stands either way.
"""

import base64
import binascii
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from parley_operator.k8s.client import KubeClient
from parley_operator.observed import BindingView, Observed, Ref
from parley_operator.policies.canary import Event
from parley_operator.policies.canary_record import Record
from parley_runtime.config.errors import ConfigError
from parley_runtime.config.models import CanaryNotify
from parley_runtime.core.send_errors import SendError
from parley_runtime.observability.metrics import Metrics
from parley_runtime.platforms import registry
from parley_runtime.platforms.base import AdapterContext

# The decisions worth a message: promotion, the ways back, and a step held on too little data.
TOLD = frozenset({"Promoted", "AnalysisFailed", "Aborted", "Rollback", "Inconclusive"})
TIMEOUT = httpx.Timeout(10.0)


def target(observed: Observed) -> CanaryNotify | None:
    """Where to tell: the spec's canary, else the one the release record remembers (a `parley
    rollback` removes spec.canary while the promotion it undoes still names a chat)."""
    bot = observed.bot.bot
    if bot is not None and bot.spec.canary is not None and bot.spec.canary.notify is not None:
        return bot.spec.canary.notify
    record = Record.from_dict(observed.bot.status.get("canary"))
    return record.notify if record else None


def text(bot: str, event: Event) -> str:
    return f"[{bot}] {event.reason}: {event.message}"


def decode(secret: Mapping[str, Any] | None) -> dict[str, str]:
    """A Secret's keys and values as the runtime's credentials (`data` is base64, `stringData` not)."""
    if secret is None:
        return {}
    values = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value)).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue  # not a text credential: no adapter reads it
    values.update({str(k): str(v) for k, v in (secret.get("stringData") or {}).items()})
    return values


class Notifier:
    def __init__(self) -> None:
        # Made on first use: the client binds to the running loop.
        self._http: httpx.AsyncClient | None = None
        self._metrics: Metrics | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=TIMEOUT)
        return self._http

    async def tell(
        self, client: KubeClient, observed: Observed, events: Sequence[Event]
    ) -> tuple[Event, ...]:
        """Post each decision among `events`; returns the Warning Events of those that could not go."""
        told = [e for e in events if e.reason in TOLD]
        where = target(observed) if told else None
        if where is None:
            return ()
        view = observed.bot
        binding = _binding(observed.bindings, where.binding_ref.name)
        if binding is None or binding.binding is None:
            why = f"PlatformBinding {where.binding_ref.name} is not a ready binding of this bot"
            return (_failed(why),)
        spec = binding.binding.spec
        secret = spec.credentials.secret_ref
        credentials: dict[str, str] = {}
        if secret is not None:
            credentials = decode(await client.get(Ref("v1", "Secret", view.namespace, secret.name)))
        self._metrics = self._metrics or Metrics()
        context = AdapterContext(
            bot=view.name,
            binding=binding.name,
            platform=spec.platform,
            credentials=credentials,
            settings=spec.typed_settings(),
            http=self._client(),
            metrics=self._metrics,
            clock=time.time,
        )
        failures = []
        for event in told:
            try:
                await registry.factory(spec.platform)(context).announce(where.chat_id, text(view.name, event))
            except (SendError, ConfigError, httpx.HTTPError) as e:
                why = f"{event.reason} not told to {spec.platform} chat {where.chat_id}: {e}"
                failures.append(_failed(why))
        return tuple(failures)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()


def _binding(bindings: Sequence[BindingView], name: str) -> BindingView | None:
    return next((b for b in bindings if b.name == name), None)


def _failed(message: str) -> Event:
    return Event("Warning", "NotifyFailed", message)
