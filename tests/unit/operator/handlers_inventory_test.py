"""The watch inventory: which events are our own echoes, which call for a reconcile, what is stale."""

from typing import Any

import kopf

from parley_operator.handlers.binding import bot_name
from parley_operator.handlers.inventory import Inventory
from parley_operator.handlers.login import to_connection
from parley_operator.k8s.connection import Connection
from parley_operator.observed import Ref


def deployment(name: str, rv: str, *, owner: str = "helpdesk", uid: str = "uid-1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "bots",
            "resourceVersion": rv,
            "ownerReferences": [{"kind": "ChatBot", "name": owner, "uid": uid, "controller": True}],
        },
    }


REF = Ref("apps/v1", "Deployment", "bots", "helpdesk")


def test_our_own_write_is_not_a_trigger_but_someone_elses_is() -> None:
    inv = Inventory()
    inv.written(REF, "10")
    assert inv.observe("MODIFIED", deployment("helpdesk", "10")) is None
    trigger = inv.observe("MODIFIED", deployment("helpdesk", "11"))
    assert trigger is not None and trigger.bot == ("bots", "helpdesk")
    assert not inv.is_own(trigger)


def test_an_echo_that_beats_the_response_is_recognised_later() -> None:
    inv = Inventory()
    trigger = inv.observe("MODIFIED", deployment("helpdesk", "12"))
    assert trigger is not None
    inv.written(REF, "12")  # the PATCH response arrives after its watch event
    assert inv.is_own(trigger)


def test_deletes_by_us_and_by_others() -> None:
    inv = Inventory()
    inv.observe("ADDED", deployment("helpdesk", "1"))
    inv.written(REF, None)  # we delete it
    assert inv.observe("DELETED", deployment("helpdesk", "2")) is None
    inv.observe("ADDED", deployment("helpdesk", "3"))
    trigger = inv.observe("DELETED", deployment("helpdesk", "4"))  # someone else deletes it
    assert trigger is not None and trigger.deleted
    assert inv.owned("bots", "helpdesk", "uid-1") == set()


def test_initial_listing_fills_the_inventory_without_triggers() -> None:
    inv = Inventory()
    assert inv.observe(None, deployment("helpdesk-canary", "5")) is None
    assert inv.observe(None, deployment("other", "5", owner="other", uid="uid-2")) is None
    assert inv.owned("bots", "helpdesk", "uid-1") == {Ref("apps/v1", "Deployment", "bots", "helpdesk-canary")}
    assert inv.owned("bots", "helpdesk", "uid-of-a-recreated-bot") == set()
    inv.forget("bots", "helpdesk")
    assert inv.owned("bots", "helpdesk", None) == set()


def test_objects_without_a_chatbot_controller_are_ignored() -> None:
    body = deployment("x", "1")
    body["metadata"]["ownerReferences"] = [
        {"kind": "ReplicaSet", "name": "x", "uid": "u", "controller": True}
    ]
    assert Inventory().observe("MODIFIED", body) is None


def test_bot_name_from_a_binding_spec() -> None:
    assert bot_name({"botRef": {"name": "helpdesk"}}) == "helpdesk"
    assert bot_name({"botRef": "helpdesk"}) is None
    assert bot_name(None) is None


def test_login_credentials_never_show_in_reprs() -> None:
    info = kopf.ConnectionInfo(server="https://k8s.example:6443", token="secret-token-value", scheme="Bearer")
    conn = to_connection(info)
    assert conn.headers() == {"Authorization": "Bearer secret-token-value"}
    assert "secret-token-value" not in repr(conn)
    basic = Connection(server="https://x", username="u", password="p")
    assert basic.headers()["Authorization"].startswith("Basic ")
