"""Each CEL rule of the generated CRDs, run by cel-python: rejects its bad spec, accepts the examples."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from parley_operator.schema import crd
from parley_operator.validation import cel, openapi_check
from unit.operator.operator_factories import CANARY, binding_doc, chatbot_doc

EXAMPLES = sorted((Path(__file__).parents[3] / "manifests" / "examples").glob("*.yaml"))


def _schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = crd.crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _errors(doc: dict[str, Any]) -> list[tuple[str, str]]:
    schema = _schema(doc["kind"])
    assert list(openapi_check.schema_errors(schema, doc)) == []  # the CEL rule, not the schema, must catch it
    return list(cel.rule_errors(schema, openapi_check.with_defaults(schema, doc)))


KEY = {"secretKeyRef": {"name": "k", "key": "a"}}


def _route(**fields: Any) -> dict[str, Any]:
    return {"name": "r", "provider": "openai-compatible", "model": "m", **fields}


def _mcp(**fields: Any) -> dict[str, Any]:
    return {"name": "search", "url": "https://mcp.example.com/mcp", **fields}


def test_every_rule_in_the_crds_is_covered_below() -> None:
    rules = [
        v["rule"]
        for kind in ("ChatBot", "PlatformBinding")
        for node in _walk(_schema(kind))
        for v in node.get("x-kubernetes-validations", [])
    ]
    assert len(rules) == 22


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for sub in node.get("properties", {}).values():
        out += _walk(sub)
    if "items" in node:
        out += _walk(node["items"])
    return out


BAD: dict[str, tuple[dict[str, Any], str, str]] = {
    "bot name not a DNS label": (chatbot_doc("Help_Desk"), "(document)", "lower-case DNS label"),
    "bot name too long": (chatbot_doc("a" * 46), "(document)", "at most 45"),
    "canary version equals version": (
        chatbot_doc(canary={**CANARY, "version": "1.4.0"}),
        "spec.canary.version",
        "canary.version must differ from version",
    ),
    "a canary that changes nothing": (
        chatbot_doc(canary={"steps": CANARY["steps"]}),
        "spec.canary",
        "a canary changes at least one of version, persona, models, plugins",
    ),
    "minSamples and its older name disagree": (
        chatbot_doc(canary={**CANARY, "analysis": {"minSamples": 5, "minSampleSize": 7}}),
        "spec.canary.analysis.minSampleSize",
        "older name of minSamples",
    ),
    "a canary's route without apiKey": (
        chatbot_doc(canary={"models": {"routes": [_route(provider="anthropic")]}, "steps": CANARY["steps"]}),
        "spec.canary.models.routes[0].apiKey",
        "need apiKey",
    ),
    "a canary's duplicate route names": (
        chatbot_doc(
            canary={"models": {"routes": [_route(name="a"), _route(name="a")]}, "steps": CANARY["steps"]}
        ),
        "spec.canary.models.routes",
        "route names must be unique",
    ),
    "duplicate route names": (
        chatbot_doc(models={"routes": [_route(name="a"), _route(name="a", priority=1)]}),
        "spec.models.routes",
        "route names must be unique",
    ),
    "anthropic without apiKey": (
        chatbot_doc(models={"routes": [_route(provider="anthropic")]}),
        "spec.models.routes[0].apiKey",
        "need apiKey",
    ),
    "gemini without apiKey": (
        chatbot_doc(models={"routes": [_route(), _route(name="g", provider="gemini")]}),
        "spec.models.routes[1].apiKey",
        "need apiKey",
    ),
    "hosted preset without apiKey": (
        chatbot_doc(models={"routes": [_route(provider="deepseek")]}),
        "spec.models.routes[0].apiKey",
        "need apiKey",
    ),
    "azure-openai without baseURL": (
        chatbot_doc(models={"routes": [_route(provider="azure-openai", apiKey=KEY)]}),
        "spec.models.routes[0].baseURL",
        "baseURL (the resource endpoint) is required",
    ),
    "apiVersion on another provider": (
        chatbot_doc(models={"routes": [_route(apiVersion="2024-10-21")]}),
        "spec.models.routes[0].apiVersion",
        "apiVersion applies only to provider azure-openai",
    ),
    "min above max": (
        chatbot_doc(scaling={"minReplicas": 5, "maxReplicas": 3}),
        "spec.scaling",
        "minReplicas must be <= maxReplicas",
    ),
    "min above the defaulted max": (
        chatbot_doc(scaling={"minReplicas": 12}),
        "spec.scaling",
        "minReplicas must be <= maxReplicas",
    ),
    "step with both": (
        chatbot_doc(canary={**CANARY, "steps": [{"setWeight": 5, "pause": {}}]}),
        "spec.canary.steps[0]",
        "exactly one of setWeight or pause",
    ),
    "step with neither": (
        chatbot_doc(canary={**CANARY, "steps": [{"setWeight": 5}, {}]}),
        "spec.canary.steps[1]",
        "exactly one of setWeight or pause",
    ),
    "step with a null pause only": (
        chatbot_doc(canary={**CANARY, "steps": [{"pause": None}]}),
        "spec.canary.steps[0]",
        "exactly one of setWeight or pause",
    ),
    "duplicate MCP server names": (
        chatbot_doc(mcpServers=[_mcp(), _mcp(url="https://other.example.com/mcp")]),
        "spec.mcpServers",
        "MCP server names must be unique",
    ),
    "MCP server with url and command": (
        chatbot_doc(mcpServers=[_mcp(command="mcp-search")]),
        "spec.mcpServers[0]",
        "exactly one of url (streamable HTTP) or command (stdio)",
    ),
    "MCP server with neither url nor command": (
        chatbot_doc(mcpServers=[{"name": "search"}]),
        "spec.mcpServers[0]",
        "exactly one of url (streamable HTTP) or command (stdio)",
    ),
    "MCP args with url": (
        chatbot_doc(mcpServers=[_mcp(args=["--verbose"])]),
        "spec.mcpServers[0]",
        "args and env apply to a command",
    ),
    "MCP headers with command": (
        chatbot_doc(mcpServers=[{"name": "fs", "command": "mcp-fs", "headers": {"Authorization": KEY}}]),
        "spec.mcpServers[0].headers",
        "headers apply to url",
    ),
    "feishu without credentials": (
        binding_doc(secret=None),
        "spec.credentials",
        "needs credentials.secretRef",
    ),
    "slack with empty credentials": (
        binding_doc(platform="slack", secret=None, credentials={}),
        "spec.credentials",
        "needs credentials.secretRef",
    ),
    "wake words with reply never": (
        binding_doc(group={"reply": "never", "wakeWords": ["/ask"]}),
        "spec.group.wakeWords",
        "no effect with reply: never",
    ),
    "chat both allowed and denied": (
        binding_doc(group={"allowChats": ["c1", "c2"], "denyChats": ["c2"]}),
        "spec.group.denyChats",
        "both allowed and denied",
    ),
    "user both allowed and denied": (
        binding_doc(group={"allowUsers": ["u1"], "denyUsers": ["u1"]}),
        "spec.group.denyUsers",
        "both allowed and denied",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_rule_rejects_its_bad_spec(case: str) -> None:
    doc, path, message = BAD[case]
    errors = _errors(doc)
    assert len(errors) == 1, errors
    assert errors[0][0] == path
    assert message in errors[0][1]


GOOD = {
    "minimal": chatbot_doc(),
    "canary": chatbot_doc(canary=CANARY),
    "http binding without credentials": binding_doc(platform="http", secret=None),
    "group policy with every field": binding_doc(
        group={
            "reply": "mention",
            "wakeWords": ["/ask", "bot,"],
            "allowChats": ["c1"],
            "denyChats": ["c2"],
            "allowUsers": ["u1"],
            "denyUsers": ["u2"],
            "sharedSession": True,
        }
    ),
    "group reply never without wake words": binding_doc(group={"reply": "never"}),
    "anthropic with key": chatbot_doc(
        models={"routes": [_route(provider="anthropic", apiKey={"secretKeyRef": {"name": "k", "key": "a"}})]}
    ),
    "equal min and max": chatbot_doc(scaling={"minReplicas": 4, "maxReplicas": 4}),
    "a prompt-only canary": chatbot_doc(
        canary={
            "persona": {"systemPrompt": "Be brief."},
            "steps": CANARY["steps"],
            "analysis": {"minSamples": 5},
        }
    ),
    "a canary of models and plugins at a new version": chatbot_doc(
        canary={
            **CANARY,
            "models": {"routes": [_route(provider="ollama")]},
            "plugins": [{"name": "weather"}],
            "analysis": {"minSamples": 5, "minSampleSize": 5},
        }
    ),
    "MCP servers over both transports": chatbot_doc(
        mcpServers=[
            _mcp(headers={"Authorization": KEY, "X-Api-Key": KEY}, allowTools=["search"]),
            {"name": "fs", "command": "mcp-fs", "args": ["/data"], "env": {"FS_TOKEN": KEY}},
        ]
    ),
    "local server without a key": chatbot_doc(models={"routes": [_route(provider="ollama")]}),
    "azure-openai with endpoint and apiVersion": chatbot_doc(
        models={
            "routes": [
                _route(
                    provider="azure-openai",
                    apiKey=KEY,
                    baseURL="https://res.openai.azure.com",
                    apiVersion="2024-10-21",
                )
            ]
        }
    ),
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_rules_accept_valid_specs(case: str) -> None:
    assert _errors(GOOD[case]) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_rules_accept_the_examples(path: Path) -> None:
    docs = [
        d
        for d in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if d and d["apiVersion"].startswith("parley.dev/")
    ]
    assert docs
    for doc in docs:
        assert _errors(doc) == []


def test_a_rule_that_cannot_be_evaluated_is_a_failure_with_a_reason() -> None:
    outcome = cel.evaluate("self.missing.field == 1", {})
    assert isinstance(outcome, str) and outcome
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": "self.missing == 1", "message": "m"}]}
    [(path, message)] = cel.rule_errors(schema, {})
    assert path == "(document)"
    assert message.startswith("m (rule could not be evaluated")
