"""ChatBot and PlatformBinding as pydantic models: the one schema source (CRDs are generated from it)."""

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from parley_runtime.config import platforms, presets
from parley_runtime.core.durations import DURATION_PATTERN, parse_duration

API_GROUP = "parley.dev"
API_VERSION = "v1alpha1"
GROUP_VERSION = f"{API_GROUP}/{API_VERSION}"

# Bot names become Deployment/Service names with suffixes such as "-gateway": keep them DNS-1035 labels.
BOT_NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
BOT_NAME_MAX = 45

Duration = Annotated[str, StringConstraints(pattern=DURATION_PATTERN)]
Percent = Annotated[int, Field(ge=0, le=100)]


class SpecModel(BaseModel):
    """Manifest fields are camelCase; unknown fields are errors, as `kubectl apply` would make them."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, alias_generator=to_camel)


class SecretKeySelector(SpecModel):
    name: Annotated[str, Field(min_length=1, max_length=253)]
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]


class SecretValue(SpecModel):
    """A value that lives in a Secret: never written inline in a manifest."""

    secret_key_ref: SecretKeySelector


class Persona(SpecModel):
    system_prompt: str = ""
    language: str | None = None


class Pricing(SpecModel):
    """Cost per million tokens, for cost accounting per route."""

    input_per_million: Annotated[float, Field(ge=0)] = 0.0
    output_per_million: Annotated[float, Field(ge=0)] = 0.0


# A family (`openai-compatible`, `anthropic`, `gemini`, `echo`) or a preset name (config/presets.py).
ProviderName = Annotated[str, Field(json_schema_extra={"enum": list(presets.NAMES)})]


class ModelRoute(SpecModel):
    name: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    provider: ProviderName
    model: Annotated[str, Field(min_length=1)]
    base_url: Annotated[str | None, Field(alias="baseURL")] = None
    api_version: Annotated[
        str | None, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][-.A-Za-z0-9]*$")
    ] = None  # Azure's `api-version` query; the preset's default when absent
    api_key: SecretValue | None = None
    priority: Annotated[int, Field(ge=0, le=1000)] = 0
    weight: Percent = 100
    timeout: Duration = "60s"
    retries: Annotated[int, Field(ge=0, le=10)] = 1
    capabilities: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=63)]], Field(max_length=32)
    ] = Field(default_factory=list)
    max_tokens: Annotated[int | None, Field(ge=1)] = None
    temperature: Annotated[float | None, Field(ge=0, le=2)] = None
    pricing: Pricing | None = None

    @property
    def timeout_seconds(self) -> float:
        return parse_duration(self.timeout)

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, name: str) -> str:
        if name not in presets.PROVIDERS:
            close = presets.suggest(name)
            hint = f"did you mean {close}?" if close else "`parley providers` lists the presets"
            raise PydanticCustomError("unknown_provider", "unknown provider; {hint}", {"hint": hint})
        return name

    @model_validator(mode="after")
    def _preset_needs(self) -> "ModelRoute":
        preset = presets.lookup(self.provider)
        if preset.needs_key and self.api_key is None:
            raise ValueError(f"provider {self.provider} needs apiKey")
        if preset.needs_base_url and self.base_url is None:
            raise ValueError(f"provider {self.provider} needs baseURL (the resource endpoint)")
        if self.api_version is not None and preset.api_version is None:
            raise ValueError(f"apiVersion does not apply to provider {self.provider}")
        return self


class CircuitBreaker(SpecModel):
    failure_threshold: Annotated[int, Field(ge=1, le=100)] = 3
    cooldown: Duration = "30s"


class HealthCheck(SpecModel):
    """Active probe of every route; `interval: 0s` (the default) turns it off."""

    interval: Duration = "0s"


class Models(SpecModel):
    routes: Annotated[list[ModelRoute], Field(min_length=1, max_length=32)]
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    health_check: HealthCheck = HealthCheck()

    @field_validator("routes")
    @classmethod
    def _unique_names(cls, routes: list[ModelRoute]) -> list[ModelRoute]:
        names = [r.name for r in routes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"route names must be unique: {', '.join(dupes)}")
        return routes


# A pinned requirement (`parley-weather==1.2.0`, extras allowed): never a range, URL or path, so the
# installed set is known from the manifest alone and can be cached by it.
PACKAGE_PATTERN = (
    r"^[A-Za-z0-9]([-._A-Za-z0-9]*[A-Za-z0-9])?(\[[-._A-Za-z0-9]+(,[-._A-Za-z0-9]+)*\])?"
    r"==[A-Za-z0-9][-.!+_A-Za-z0-9]*$"
)
HASH_PATTERN = r"^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$"


class PluginSpec(SpecModel):
    name: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-_a-z0-9]*[a-z0-9])?$")]
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)
    # From the package index (docs/plugins.md): installed by pip before the plugins load.
    package: Annotated[str | None, Field(max_length=200, pattern=PACKAGE_PATTERN)] = None
    index: SecretValue | None = None  # the index URL (it may carry a token): pip's --index-url
    hashes: Annotated[list[Annotated[str, Field(pattern=HASH_PATTERN)]], Field(max_length=16)] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _package_options(self) -> "PluginSpec":
        if self.package is None and (self.index is not None or self.hashes):
            raise ValueError("index and hashes apply only to a plugin with a package")
        return self

    @property
    def requirement(self) -> str | None:
        """The package as a pip requirements line, hashes included; None for other plugins."""
        if self.package is None:
            return None
        return " ".join([self.package, *(f"--hash={h}" for h in self.hashes)])


# An MCP server's name prefixes its tools' names when they clash (`<server>_<tool>`, at most 64 characters).
MCP_SERVER_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
HEADER_NAME_PATTERN = r"^[A-Za-z0-9][-A-Za-z0-9_.]*$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Headers the streamable HTTP transport sets itself: a manifest cannot override them.
MCP_RESERVED_HEADERS = frozenset(
    {"accept", "content-type", "content-length", "host", "mcp-session-id", "mcp-protocol-version"}
)


class McpServer(SpecModel):
    """An MCP server whose tools join the tool loop: `url` (streamable HTTP) or `command` (stdio)."""

    name: Annotated[str, Field(min_length=1, max_length=32, pattern=MCP_SERVER_NAME_PATTERN)]
    url: Annotated[str | None, Field(min_length=1, max_length=2048, pattern=r"^https?://")] = None
    # Header and environment values come from Secrets, like every other credential. Their names are
    # checked in `_check`: a key pattern would become `patternProperties`, which a CRD cannot hold.
    headers: Annotated[dict[Annotated[str, Field(max_length=128)], SecretValue], Field(max_length=32)] = (
        Field(default_factory=dict)
    )
    command: Annotated[str | None, Field(min_length=1, max_length=1024)] = None
    args: Annotated[list[Annotated[str, Field(max_length=4096)]], Field(max_length=64)] = Field(
        default_factory=list
    )
    env: Annotated[dict[Annotated[str, Field(max_length=128)], SecretValue], Field(max_length=32)] = Field(
        default_factory=dict
    )
    # Absent: every tool the server lists; otherwise only these (the server's own names).
    allow_tools: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=128)]] | None, Field(min_length=1, max_length=256)
    ] = None
    timeout: Duration = "30s"  # connecting, listing tools, and each tool call

    @property
    def timeout_seconds(self) -> float:
        return parse_duration(self.timeout)

    @model_validator(mode="after")
    def _check(self) -> "McpServer":
        if (self.url is None) == (self.command is None):
            raise ValueError("an MCP server has exactly one of url (streamable HTTP) or command (stdio)")
        if self.url is not None and (self.args or self.env):
            raise ValueError("args and env apply to a command (stdio), not to url")
        if self.command is not None and self.headers:
            raise ValueError("headers apply to url (streamable HTTP), not to a command")
        bad = [h for h in self.headers if not re.fullmatch(HEADER_NAME_PATTERN, h)]
        bad += [e for e in self.env if not re.fullmatch(ENV_NAME_PATTERN, e)]
        if bad:
            raise ValueError(f"not a header or environment variable name: {', '.join(map(repr, bad))}")
        reserved = sorted(h for h in self.headers if h.lower() in MCP_RESERVED_HEADERS)
        if reserved:
            raise ValueError(f"headers the transport sets itself cannot be configured: {', '.join(reserved)}")
        return self


class Session(SpecModel):
    max_turns: Annotated[int, Field(ge=0, le=1000)] = 20
    max_tokens: Annotated[int, Field(ge=0, le=2_000_000)] = 8000
    ttl: Duration = "24h"

    @property
    def ttl_seconds(self) -> float:
        return parse_duration(self.ttl)


class RateLimit(SpecModel):
    per_user_per_minute: Annotated[int, Field(ge=0, le=100_000)] = 20
    per_chat_per_minute: Annotated[int, Field(ge=0, le=100_000)] = 0  # 0 = unlimited


MiB = 1 << 20


class Media(SpecModel):
    """Largest attachment the bot downloads, per kind; a bigger one gets a short reply (413 on the API)."""

    max_image_bytes: Annotated[int, Field(ge=1, le=1 << 30)] = 10 * MiB
    max_audio_bytes: Annotated[int, Field(ge=1, le=1 << 30)] = 25 * MiB
    max_file_bytes: Annotated[int, Field(ge=1, le=1 << 30)] = 20 * MiB

    def limit(self, kind: Literal["image", "audio", "file"]) -> int:
        return {"image": self.max_image_bytes, "audio": self.max_audio_bytes, "file": self.max_file_bytes}[
            kind
        ]


class Speech(SpecModel):
    """Voice answered with voice (through a route tagged `tts`) where the platform takes it."""

    reply_with_voice: bool = False
    voice: Annotated[str, Field(min_length=1, max_length=64)] = "alloy"


DEFAULT_BUDGET_REPLY = "You have reached today's usage limit. Please try again tomorrow."


class UserDailyBudget(SpecModel):
    """What one user (per platform) may spend in a UTC day; absent fields are unlimited."""

    tokens: Annotated[int | None, Field(ge=1)] = None
    usd: Annotated[float | None, Field(gt=0)] = None


class BotDailyBudget(SpecModel):
    """What the whole bot may spend in a UTC day, every user and replica together."""

    usd: Annotated[float | None, Field(gt=0)] = None


class Budget(SpecModel):
    """Daily spending limits in UTC days; over one, the user gets `reply` and no provider is called.

    Each model call reserves its worst case before it runs and settles to its real cost after
    (docs/budgets.md).
    """

    per_user_daily: UserDailyBudget | None = None
    per_bot_daily: BotDailyBudget | None = None
    reply: Annotated[str, Field(min_length=1, max_length=2000)] = DEFAULT_BUDGET_REPLY

    @property
    def limits_anything(self) -> bool:
        user, bot = self.per_user_daily, self.per_bot_daily
        return bool((user and (user.tokens or user.usd)) or (bot and bot.usd))

    @property
    def counts_usd(self) -> bool:
        return bool(
            (self.per_user_daily and self.per_user_daily.usd)
            or (self.per_bot_daily and self.per_bot_daily.usd)
        )


class Scaling(SpecModel):
    min_replicas: Annotated[int, Field(ge=1, le=1000)] = 2
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = 10
    target_cpu_utilization_percentage: Annotated[
        int, Field(ge=1, le=100, alias="targetCPUUtilizationPercentage")
    ] = 70

    @model_validator(mode="after")
    def _ordered(self) -> "Scaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must be <= maxReplicas")
        return self


Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|E|Ei|P|Pi)?$")]


class Resources(SpecModel):
    requests: dict[Literal["cpu", "memory", "ephemeral-storage"], Quantity] = Field(default_factory=dict)
    limits: dict[Literal["cpu", "memory", "ephemeral-storage"], Quantity] = Field(default_factory=dict)


class Redis(SpecModel):
    url: SecretValue


class Api(SpecModel):
    """The HTTP chat API; with a token, callers must send `Authorization: Bearer <token>`."""

    token: SecretValue | None = None


class Pause(SpecModel):
    duration: Duration | None = None  # absent: wait for the parley.dev/promote annotation


class CanaryStep(SpecModel):
    set_weight: Percent | None = None
    pause: Pause | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "CanaryStep":
        if (self.set_weight is None) == (self.pause is None):
            raise ValueError("a canary step has exactly one of setWeight or pause")
        return self


class Analysis(SpecModel):
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.05
    max_p99_seconds: Annotated[float, Field(gt=0)] = 10.0
    interval: Duration = "1m"
    failure_limit: Annotated[int, Field(ge=1, le=100)] = 1
    # Messages each track needs in a window for a verdict (default 50); `minSampleSize` is its older
    # name, still read. Fewer is inconclusive: it holds the step, never promotes.
    min_samples: Annotated[int | None, Field(ge=0)] = None
    min_sample_size: Annotated[int | None, Field(ge=0)] = None
    prometheus_url: Annotated[str | None, Field(alias="prometheusURL")] = None
    # Optional limits relative to the stable track in the same window (off unless set).
    max_error_rate_over_stable: Annotated[float | None, Field(ge=0, le=1)] = None
    max_p99_ratio_to_stable: Annotated[float | None, Field(gt=0)] = None
    # Fallback rate: failed model calls (followed by a retry, the next route or an error) per message.
    max_fallback_rate: Annotated[float | None, Field(ge=0)] = None
    max_fallback_rate_over_stable: Annotated[float | None, Field(ge=0)] = None
    # Cost per message, in the routes' pricing currency (off unless set; needs `pricing` on the routes).
    max_cost_per_message: Annotated[float | None, Field(ge=0)] = None
    max_cost_ratio_to_stable: Annotated[float | None, Field(gt=0)] = None

    @property
    def samples_needed(self) -> int:
        """`minSamples`, else its older name `minSampleSize`, else 50."""
        for value in (self.min_samples, self.min_sample_size):
            if value is not None:
                return value
        return DEFAULT_MIN_SAMPLES

    @model_validator(mode="after")
    def _one_sample_size(self) -> "Analysis":
        if None not in (self.min_samples, self.min_sample_size) and self.min_samples != self.min_sample_size:
            raise ValueError("minSampleSize is the older name of minSamples: set one of them")
        return self


DEFAULT_MIN_SAMPLES = 50
CANARY_CHANGES = ("version", "persona", "models", "plugins")


# Another object of the same namespace, by name: a ChatBot, a Secret, a PlatformBinding.
class ObjectRef(SpecModel):
    name: Annotated[str, Field(min_length=1, max_length=253)]


class CanaryNotify(SpecModel):
    """Where the operator posts a gray release's decisions (promoted, rolled back, aborted, held): a
    chat reached through one of the bot's own PlatformBindings."""

    binding_ref: ObjectRef
    chat_id: Annotated[str, Field(min_length=1, max_length=256)]


class Canary(SpecModel):
    """A gray release of what it changes: the runtime `version` and/or the config fields `persona`,
    `models` and `plugins`, laid over the stable spec for the canary track (at least one of them)."""

    version: Annotated[str | None, Field(min_length=1, max_length=128)] = None
    persona: Persona | None = None
    models: Models | None = None
    plugins: Annotated[list[PluginSpec] | None, Field(max_length=64)] = None
    steps: Annotated[list[CanaryStep], Field(min_length=1, max_length=64)]
    analysis: Analysis = Analysis()
    notify: CanaryNotify | None = None

    @property
    def changes(self) -> tuple[str, ...]:
        """The fields this canary sets, in `CANARY_CHANGES` order."""
        return tuple(name for name in CANARY_CHANGES if getattr(self, name) is not None)

    @model_validator(mode="after")
    def _changes_something(self) -> "Canary":
        if not self.changes:
            raise ValueError(f"a canary changes at least one of {', '.join(CANARY_CHANGES)}")
        return self


class ChatBotSpec(SpecModel):
    version: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    image: str | None = None
    persona: Persona = Persona()
    models: Models
    plugins: Annotated[list[PluginSpec], Field(max_length=64)] = Field(default_factory=list)
    mcp_servers: Annotated[list[McpServer], Field(max_length=16)] = Field(default_factory=list)
    session: Session = Session()
    rate_limit: RateLimit = RateLimit()
    media: Media = Media()
    speech: Speech = Speech()
    scaling: Scaling = Scaling()
    # NetworkPolicies: engines reachable only from their gateway and the metrics scrapers.
    network_policy: bool = True
    resources: Resources = Resources()
    redis: Redis | None = None
    api: Api = Api()
    canary: Canary | None = None
    budget: Budget | None = None

    @field_validator("mcp_servers")
    @classmethod
    def _unique_mcp_names(cls, servers: list[McpServer]) -> list[McpServer]:
        names = [s.name for s in servers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"MCP server names must be unique: {', '.join(dupes)}")
        return servers

    @field_validator("plugins")
    @classmethod
    def _one_pip_run(cls, plugins: list[PluginSpec]) -> list[PluginSpec]:
        """Every package is installed by one pip run, which takes one index and checks hashes for all
        requirements or for none."""
        packaged = [p for p in plugins if p.package is not None]
        indexes = {p.index for p in packaged if p.index is not None}
        if len(indexes) > 1:
            raise ValueError("plugin packages install in one pip run: give them all the same index")
        if len({bool(p.hashes) for p in packaged}) > 1:
            raise ValueError("plugin packages install in one pip run: give hashes for every package or none")
        return plugins

    @model_validator(mode="after")
    def _canary_differs(self) -> "ChatBotSpec":
        if self.canary is not None and self.canary.version == self.version:
            raise ValueError("canary.version must differ from version")
        return self

    @model_validator(mode="after")
    def _budget_priced(self) -> "ChatBotSpec":
        """A USD budget over a route without pricing would never trip: refuse it up front."""
        if self.budget is None or not self.budget.counts_usd:
            return self
        unpriced = [r.name for r in self.models.routes if r.pricing is None and not _speech_only(r)]
        if unpriced:
            raise PydanticCustomError(
                "budget_unpriced",
                "budget.usd needs pricing on every chat route (zeros for a free one): {routes}",
                {"routes": ", ".join(unpriced)},
            )
        return self


class ObjectMeta(BaseModel):
    """The metadata fields Parley reads; server-set fields (uid, resourceVersion…) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=253)]
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: int | None = None
    uid: str | None = None


class ChatBot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    api_version: Annotated[Literal["parley.dev/v1alpha1"], Field(alias="apiVersion")] = "parley.dev/v1alpha1"
    kind: Literal["ChatBot"] = "ChatBot"
    metadata: ObjectMeta
    spec: ChatBotSpec
    status: dict[str, Any] | None = None

    @field_validator("metadata")
    @classmethod
    def _dns_name(cls, meta: ObjectMeta) -> ObjectMeta:
        _check_bot_name(meta.name)
        return meta

    @property
    def name(self) -> str:
        return self.metadata.name


class Credentials(SpecModel):
    secret_ref: ObjectRef | None = None


ChatOrUserId = Annotated[str, Field(min_length=1, max_length=256)]
IdList = Annotated[list[ChatOrUserId], Field(max_length=256)]


class GroupPolicy(SpecModel):
    """When the bot speaks in a group chat (private chats are always answered, deny lists aside)."""

    reply: Literal["mention", "always", "never"] = "mention"
    # A group message starting with one of these counts as addressed; the word is stripped.
    wake_words: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")]], Field(max_length=32)
    ] = Field(default_factory=list)
    allow_chats: IdList = Field(default_factory=list)  # empty = every chat
    deny_chats: IdList = Field(default_factory=list)
    allow_users: IdList = Field(default_factory=list)  # empty = every user
    deny_users: IdList = Field(default_factory=list)
    shared_session: bool = False  # one context per group instead of one per member

    @model_validator(mode="after")
    def _lists_agree(self) -> "GroupPolicy":
        if self.reply == "never" and self.wake_words:
            raise ValueError("wakeWords have no effect with reply: never")
        for allowed, denied, what in (
            (self.allow_chats, self.deny_chats, "chat"),
            (self.allow_users, self.deny_users, "user"),
        ):
            both = sorted(set(allowed) & set(denied))
            if both:
                raise ValueError(f"a {what} cannot be both allowed and denied: {', '.join(both[:3])}")
        return self


class PlatformBindingSpec(SpecModel):
    bot_ref: ObjectRef
    platform: platforms.PlatformName
    credentials: Credentials = Credentials()
    settings: dict[str, Any] = Field(default_factory=dict)
    group: GroupPolicy = GroupPolicy()

    @field_validator("settings")
    @classmethod
    def _settings_for_platform(cls, settings: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        platform = info.data.get("platform")
        if platform is not None:
            platforms.validate_settings(platform, settings)
        return settings

    @model_validator(mode="after")
    def _credentials_needed(self) -> "PlatformBindingSpec":
        if platforms.REQUIRED_KEYS[self.platform] and self.credentials.secret_ref is None:
            raise ValueError(f"platform {self.platform} needs credentials.secretRef")
        return self

    def typed_settings(self) -> platforms.PlatformSettings:
        return platforms.validate_settings(self.platform, self.settings)


class PlatformBinding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    api_version: Annotated[Literal["parley.dev/v1alpha1"], Field(alias="apiVersion")] = "parley.dev/v1alpha1"
    kind: Literal["PlatformBinding"] = "PlatformBinding"
    metadata: ObjectMeta
    spec: PlatformBindingSpec
    status: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.metadata.name


def _speech_only(route: ModelRoute) -> bool:
    """A route tagged `stt` or `tts` serves only speech, never chat (llm/router.py)."""
    return bool({"stt", "tts"} & set(route.capabilities))


def _check_bot_name(name: str) -> None:
    if len(name) > BOT_NAME_MAX or not re.fullmatch(BOT_NAME_PATTERN, name):
        raise ValueError(f"name {name!r} must be a lower-case DNS label of at most {BOT_NAME_MAX} characters")
