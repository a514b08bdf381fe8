"""The model and run records are hand-written frozen classes (``sdk.Record``) that behave as
the attrs classes they replace: frozen, compared and hashed by value, an attrs-style repr,
picklable, and seen by attrs and cattrs as attrs classes (plugins use ``attrs.evolve`` and
the converter on them)."""

from __future__ import annotations

import copy
import pickle

import attrs
import cattrs
import pytest

from attractor_core import sdk
from attractor_core.runtime.checkpoint import Checkpoint, InFlight, NodeRecord


def test_a_record_is_frozen_and_compared_hashed_and_shown_by_value():
    node = sdk.Node("plan", {"shape": "box"}, line=3)
    with pytest.raises(AttributeError, match="frozen Node"):
        node.id = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del node.line  # type: ignore[misc]
    assert node == sdk.Node("plan", {"shape": "box"}, 3)
    assert node != sdk.Node("plan", {"shape": "box"}, 4)
    assert node != sdk.Edge("plan", "box")  # another class is never equal
    assert repr(node) == "Node(id='plan', attrs={'shape': 'box'}, line=3)"
    assert hash(sdk.Duration(5)) == hash(sdk.Duration.parse("5ms"))
    assert sorted([sdk.Duration(9), sdk.Duration(2)]) == [sdk.Duration(2), sdk.Duration(9)]
    assert sdk.Node("a").attrs == {} and sdk.Node("a").attrs is not sdk.Node("b").attrs
    with pytest.raises(ValueError, match="negative"):
        sdk.Duration(-1)


def test_records_survive_pickle_and_deepcopy():
    graph = sdk.Graph("g", {"goal": "x"}, {"a": sdk.Node("a")}, (sdk.Edge("a", "b", index=0),))
    assert graph.outgoing("a")  # builds an index the copies must not depend on
    for clone in (pickle.loads(pickle.dumps(graph)), copy.deepcopy(graph)):
        assert clone == graph and clone.outgoing("a") == graph.outgoing("a")
    outcome = sdk.Outcome.named("needs_dod", notes="n")
    assert pickle.loads(pickle.dumps(outcome)) == outcome


def test_evolve_copies_a_record_with_changes_and_rejects_unknown_fields():
    outcome = sdk.Outcome.fail("boom")
    changed = sdk.evolve(outcome, failure_class="deterministic")
    assert (changed.failure_reason, changed.failure_class) == ("boom", "deterministic")
    assert outcome.failure_class == ""
    with pytest.raises(TypeError, match="no field 'colour'"):
        sdk.evolve(outcome, colour="red")
    # The record's own checks run on the copy too.
    with pytest.raises(TypeError, match="custom outcome"):
        sdk.evolve(outcome, custom="needs_dod")


def test_attrs_sees_records_as_attrs_classes():
    node = sdk.Node("a", {"label": "A"})
    assert attrs.has(sdk.Node)
    assert [f.name for f in attrs.fields(sdk.Node)] == ["id", "attrs", "line"]
    assert attrs.fields(sdk.Outcome).status.type is sdk.StageStatus
    assert attrs.evolve(node, attrs={"label": "B"}) == sdk.Node("a", {"label": "B"})
    report = sdk.FanOutReport("wait_all: 1 of 2", (sdk.BranchFailure("b2", "fail"),))
    assert attrs.asdict(sdk.Outcome.fail("x", fan_out=report))["fan_out"] == {
        "verdict": "wait_all: 1 of 2",
        "failed_branches": ({"branch_key": "b2", "status": "fail", "failure_reason": "",
                             "failure_class": "", "failed_node_id": ""},)}


@pytest.mark.parametrize("converter", [sdk.CONVERTER, cattrs.Converter()],
                         ids=["kernel converter", "plain cattrs"])
def test_cattrs_writes_and_reads_records_back(converter):
    outcome = sdk.Outcome.fail("x", suggested_next_ids=["b"], fan_out=sdk.FanOutReport("v"))
    raw = converter.unstructure(outcome)
    assert raw["status"] == "fail" and raw["suggested_next_ids"] == ["b"]
    assert converter.structure(raw, sdk.Outcome) == outcome
    checkpoint = Checkpoint("r1", "t", "a", "b", ["a"], {"a": NodeRecord("success")},
                            in_flight=InFlight("b", 2))
    assert converter.structure(converter.unstructure(checkpoint), Checkpoint) == checkpoint


def test_a_plugin_defines_its_own_record():
    class Limits(sdk.Record):
        __match_args__ = __slots__ = ("rounds", "seconds")
        rounds: int
        seconds: float

        def __init__(self, rounds: int, seconds: float = 1.0) -> None:
            object.__setattr__(self, "rounds", rounds)
            object.__setattr__(self, "seconds", seconds)

    limits = Limits(3)
    assert repr(limits) == "Limits(rounds=3, seconds=1.0)"
    assert sdk.evolve(limits, seconds=2.5) == Limits(3, 2.5)
    assert attrs.evolve(limits, rounds=4) == Limits(4)
