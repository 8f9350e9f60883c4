"""The k8s layer against KMock: apply is idempotent, create races converge, tokens are never
rewritten, errors carry one line, and Secrets are read for their key names only."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from fakes.kmock_harness import KMockThread
from parley_operator.k8s import apply, errors, gather
from parley_operator.k8s.client import KubeClient
from parley_operator.k8s.connection import Connection, Credentials, http_client
from parley_operator.observed import BotView, Observed, Ref
from parley_operator.policies import children
from parley_operator.render import OwnerRef, render_bot
from parley_runtime.config.models import ChatBot

NS = "apply"


@pytest.fixture(scope="module")
def kmock_api() -> Iterator[KMockThread]:
    with KMockThread() as server:
        yield server


@pytest.fixture
async def client(kmock_api: KMockThread) -> AsyncIterator[KubeClient]:
    conn = Connection(server=kmock_api.url)
    http = http_client(conn)
    try:
        yield KubeClient(http, Credentials(conn))
    finally:
        await http.aclose()


def bot(name: str) -> ChatBot:
    return ChatBot.model_validate(
        {
            "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
            "spec": {
                "version": "1.0.0",
                "models": {"routes": [{"name": "e", "provider": "echo", "model": "e"}]},
            },
        }
    )


def rendered(name: str, **kw: Any) -> list[dict[str, Any]]:
    b = bot(name)
    return render_bot(b, [], namespace=NS, owner=OwnerRef.of(b), **kw)


async def plan_for(client: KubeClient, desired: list[dict[str, Any]], name: str) -> children.Plan:
    live = await gather.read_objects(client, [Ref.of(o) for o in desired])
    view = BotView(NS, name, f"uid-{name}", 1, {}, bot(name))
    return children.plan(desired, Observed(view, (), {}, live), token_secret=f"{name}-internal")


async def test_apply_then_reapply_is_a_no_op(client: KubeClient) -> None:
    desired = rendered("idem")
    first = await plan_for(client, desired, "idem")
    assert len(first.creates) == len(desired)
    writes: list[tuple[Ref, str | None]] = []
    applied = await apply.apply_plan(client, first, on_write=lambda ref, rv: writes.append((ref, rv)))
    assert set(applied.created) == {Ref.of(o) for o in desired}
    assert {ref for ref, _ in writes} == set(applied.created) and all(rv for _, rv in writes)
    again = await plan_for(client, desired, "idem")
    assert again.empty
    token_secret = await client.get(Ref("v1", "Secret", NS, "idem-internal"))
    assert token_secret is not None and len(token_secret["stringData"]["token"]) >= 32


async def test_create_race_converges_and_keeps_the_existing_token(client: KubeClient) -> None:
    desired = rendered("race")
    secret = next(o for o in desired if o["kind"] == "Secret")
    plan = await plan_for(client, desired, "race")  # everything absent at this point
    # Someone creates the Secret (with a token) and a stale ConfigMap between our read and our write.
    await client.create({**secret, "stringData": {"token": "keep-me"}})
    cm = next(o for o in desired if o["metadata"]["name"] == "race-config")
    await client.create({**cm, "data": {"bot.yaml": "stale"}})
    await apply.apply_plan(client, plan)
    live_secret = await client.get(Ref.of(secret))
    assert live_secret is not None and live_secret["stringData"] == {"token": "keep-me"}
    live_cm = await client.get(Ref.of(cm))
    assert live_cm is not None and live_cm["data"] == cm["data"]
    assert (await plan_for(client, desired, "race")).empty


async def test_removing_the_canary_deletes_only_the_canary_objects(client: KubeClient) -> None:
    canary = {"version": "2.0.0", "steps": [{"setWeight": 10}]}
    b = ChatBot.model_validate(
        {
            **bot("gray").model_dump(by_alias=True),
            "spec": {**bot("gray").spec.model_dump(by_alias=True), "canary": canary},
        }
    )
    with_canary = render_bot(b, [], namespace=NS, owner=OwnerRef.of(b))
    await apply.apply_plan(client, await plan_for(client, with_canary, "gray"))
    without = rendered("gray")
    stale = tuple(sorted({Ref.of(o) for o in with_canary} - {Ref.of(o) for o in without}))
    live = await gather.read_objects(client, [Ref.of(o) for o in without])
    view = BotView(NS, "gray", "uid-gray", 2, {}, bot("gray"))
    plan = children.plan(without, Observed(view, (), {}, live, stale), token_secret="gray-internal")
    deleted: list[Ref] = []
    applied = await apply.apply_plan(
        client, plan, on_write=lambda ref, rv: rv is None and deleted.append(ref)
    )
    assert set(applied.deleted) == set(stale) == set(deleted)
    assert await client.get(Ref("apps/v1", "Deployment", NS, "gray-canary")) is None
    assert await client.get(Ref("apps/v1", "Deployment", NS, "gray")) is not None


async def test_secrets_are_read_as_key_names_and_a_digest_only(client: KubeClient) -> None:
    await client.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": NS},
            "data": {"a": "eA=="},
        }
    )
    keys, digests = await gather.read_secrets(client, NS, ["creds", "absent"])
    assert keys == {"creds": frozenset({"a"}), "absent": None}
    assert set(digests) == {"creds"} and len(digests["creds"]) == 64 and "eA==" not in digests["creds"]
    await client.patch(Ref("v1", "Secret", NS, "creds"), {"data": {"a": "eQ=="}})
    _, rotated = await gather.read_secrets(client, NS, ["creds"])
    assert rotated["creds"] != digests["creds"]


async def test_errors_are_one_line_without_bodies(client: KubeClient) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dup", "namespace": NS}, "data": {}}
    await client.create(body)
    with pytest.raises(errors.Conflict) as conflict:
        await client.create(body)
    assert conflict.value.status == 409 and "\n" not in str(conflict.value)
    assert "Traceback" not in str(conflict.value)
    assert await client.get(Ref("v1", "ConfigMap", NS, "nothing")) is None
    assert await client.delete(Ref("v1", "ConfigMap", NS, "nothing")) is False
    with pytest.raises(ValueError, match="does not manage kind Node"):
        await client.get(Ref("v1", "Node", NS, "p"))


async def test_label_selector_is_enforced_even_when_the_api_ignores_it(client: KubeClient) -> None:
    for name, instance in (("l1", "mine"), ("l2", "theirs")):
        await client.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "namespace": NS,
                    "labels": {"app.kubernetes.io/instance": instance},
                },
            }
        )
    found = await client.list("v1", "ConfigMap", NS, labels={"app.kubernetes.io/instance": "mine"})
    assert [o["metadata"]["name"] for o in found] == ["l1"]
    assert found[0]["kind"] == "ConfigMap"


async def test_unreachable_api_is_an_api_error() -> None:
    conn = Connection(server="http://127.0.0.1:9")
    async with httpx.AsyncClient(base_url=conn.server) as http:
        with pytest.raises(errors.ApiError) as err:
            await KubeClient(http, Credentials(conn)).get(Ref("v1", "ConfigMap", NS, "x"))
    assert err.value.status == 0 and err.value.reason == "Unreachable"
