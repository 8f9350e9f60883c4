"""Names, labels and metadata shared by every rendered object."""

import re
from dataclasses import dataclass
from typing import Any

from parley_runtime.config.models import ChatBot

MANAGED_BY = "parley-operator"
PART_OF = "parley"
APP_NAME = "parley"
TRACK_LABEL = "parley.dev/track"
CHECKSUM_ANNOTATION = "parley.dev/config-checksum"
SECRETS_CHECKSUM_ANNOTATION = "parley.dev/secrets-checksum"

_LABEL_VALUE_MAX = 63


@dataclass(frozen=True)
class OwnerRef:
    """The object that owns everything rendered (normally the ChatBot), for garbage collection."""

    api_version: str
    kind: str
    name: str
    uid: str

    @classmethod
    def of(cls, bot: ChatBot) -> "OwnerRef | None":
        """The ChatBot as owner; None when it has no uid yet (not read from a cluster)."""
        if not bot.metadata.uid:
            return None
        return cls(bot.api_version, bot.kind, bot.metadata.name, bot.metadata.uid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True)
class Names:
    """Every object name derived from the bot name, in one place."""

    bot: str

    @property
    def service_account(self) -> str:
        return self.bot

    @property
    def gateway(self) -> str:
        return f"{self.bot}-gateway"

    @property
    def engine(self) -> str:
        return self.bot

    @property
    def canary(self) -> str:
        return f"{self.bot}-canary"

    @property
    def engine_service(self) -> str:
        return f"{self.bot}-engine"

    @property
    def canary_service(self) -> str:
        return f"{self.bot}-engine-canary"

    @property
    def config(self) -> str:
        return f"{self.bot}-config"

    @property
    def canary_config(self) -> str:
        return f"{self.bot}-canary-config"

    @property
    def routes(self) -> str:
        return f"{self.bot}-routes"

    @property
    def internal_secret(self) -> str:
        return f"{self.bot}-internal"


def label_value(text: str) -> str:
    """`text` cut to a valid label value (≤ 63 chars, alphanumeric at both ends)."""
    cut = re.sub(r"[^-_.A-Za-z0-9]", "-", text)[:_LABEL_VALUE_MAX]
    return cut.strip("-_.")


def selector(bot: str, component: str, track: str | None = None) -> dict[str, str]:
    """Labels a selector matches on: never the version, so a new version does not orphan pods."""
    out = {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": bot}
    out["app.kubernetes.io/component"] = component
    if track is not None:
        out[TRACK_LABEL] = track
    return out


def labels(bot: str, component: str, version: str, track: str | None = None) -> dict[str, str]:
    """The recommended `app.kubernetes.io/*` labels plus the track where there is one."""
    out = selector(bot, component, track)
    out["app.kubernetes.io/version"] = label_value(version)
    out["app.kubernetes.io/managed-by"] = MANAGED_BY
    out["app.kubernetes.io/part-of"] = PART_OF
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class Context:
    """What every render function needs besides its own piece of the spec."""

    names: Names
    namespace: str
    version: str
    owner: OwnerRef | None

    def metadata(
        self,
        name: str,
        component: str,
        *,
        version: str | None = None,
        track: str | None = None,
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "name": name,
            "namespace": self.namespace,
            "labels": labels(self.names.bot, component, version or self.version, track),
        }
        if annotations:
            meta["annotations"] = dict(sorted(annotations.items()))
        if self.owner is not None:
            meta["ownerReferences"] = [self.owner.to_dict()]
        return meta
