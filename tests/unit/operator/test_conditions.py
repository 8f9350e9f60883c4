"""kstatus conditions: lastTransitionTime moves only when a condition's status flips."""

from parley_operator import conditions
from parley_operator.conditions import Condition

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"


def test_new_conditions_get_now_and_the_generation() -> None:
    out = conditions.merge(None, [Condition("Ready", "True", "Reconciled", "ok")], now=T0, generation=3)
    assert out == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Reconciled",
            "message": "ok",
            "lastTransitionTime": T0,
            "observedGeneration": 3,
        }
    ]


def test_unchanged_status_keeps_its_transition_time_even_if_the_reason_changes() -> None:
    before = conditions.merge(None, [Condition("Ready", "False", "SecretMissing", "a")], now=T0, generation=1)
    after = conditions.merge(
        before, [Condition("Ready", "False", "BindingInvalid", "b")], now=T1, generation=2
    )
    assert after[0]["lastTransitionTime"] == T0
    assert after[0]["reason"] == "BindingInvalid"
    assert after[0]["observedGeneration"] == 2


def test_flipped_status_moves_the_transition_time() -> None:
    before = conditions.merge(None, [Condition("Ready", "False", "SecretMissing")], now=T0, generation=1)
    after = conditions.merge(before, [Condition("Ready", "True", "Reconciled")], now=T1, generation=1)
    assert after[0]["lastTransitionTime"] == T1


def test_order_follows_the_wanted_list_and_unknown_entries_are_dropped() -> None:
    before = [{"type": "Legacy", "status": "True"}, "garbage"]
    wanted = [Condition("Stalled", "False", "Progressing"), Condition("Ready", "True", "Reconciled")]
    out = conditions.merge(before, wanted, now=T0, generation=None)  # type: ignore[arg-type]
    assert [c["type"] for c in out] == ["Stalled", "Ready"]
    assert "observedGeneration" not in out[0]


def test_find_and_truth() -> None:
    conds = conditions.merge(None, [Condition("Ready", conditions.truth(False), "X")], now=T0, generation=1)
    found = conditions.find(conds, "Ready")
    assert found is not None and found["status"] == "False"
    assert conditions.find(conds, "Stalled") is None
    assert conditions.find(None, "Ready") is None
