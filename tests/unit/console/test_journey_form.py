"""The journey editor's form: every step kind from a document into the form and back unchanged; a
step without an id named by its place; what the form cannot hold left to the JSON box."""

from __future__ import annotations

import copy

import pytest

from omnikanal.console.journey_form import NotForm, document_of, form_of_post
from omnikanal.console.journey_form_load import form_of_document
from omnikanal.journeys.schema import STEP_KINDS
from tests.journey_documents import EVERY_KIND, posted


def test_the_example_holds_every_step_kind_of_the_engine() -> None:
    kinds = {next(k for k in STEP_KINDS if k in step) for step in EVERY_KIND["steps"]}
    assert kinds == set(STEP_KINDS)


def test_every_step_kind_goes_into_the_form_and_back_unchanged() -> None:
    form = form_of_document(EVERY_KIND)
    assert [s.kind for s in form.steps][:4] == ["wait", "wait", "wait", "split"]
    assert form.steps[1].get("wd_mon") == "1"
    assert form.steps[3].get("v1_next") == "frage"
    assert document_of(form_of_post(posted(form))) == EVERY_KIND


def test_a_step_without_an_id_is_named_by_its_place_and_the_next_defaults() -> None:
    fields = {"source": "form", "name": "Kurz", "trigger": "api", "s0_kind": "wait", "s0_duration": "P1D"}
    fields |= {"s1_kind": "exit", "s1_next": "nirgends"}
    document = document_of(form_of_post(fields))
    assert document == {
        "name": "Kurz",
        "trigger": {"api": {}},
        "steps": [{"id": "schritt-1", "wait": {"duration": "P1D"}}, {"id": "schritt-2", "exit": {}}],
    }


def test_a_branch_condition_that_is_not_json_names_its_step() -> None:
    fields = {"name": "x", "s0_kind": "wait", "s0_duration": "P1D", "s1_kind": "branch", "s1_condition": "{"}
    with pytest.raises(NotForm, match="/steps/1/branch/if"):
        document_of(form_of_post(fields))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["entry"].update(
            audience={"consent": {"purpose": "email_marketing", "status": "granted"}}
        ),
        lambda d: d["trigger"]["event"].update(where=[{"key": "sku", "op": "eq", "value": "X"}]),
        lambda d: d["steps"][3]["split"]["variants"].extend(
            [{"name": n, "weight": 1, "next": "mail"} for n in "CD"]
        ),
        lambda d: d["steps"][5]["branch"].update({"if": {"recommended": {"category": "Werkzeug"}}}),
        lambda d: d["exit"].append({"segment_exited": "Stammkunden"}),
    ],
    ids=["audience", "event-filter", "fourth-variant", "recommended", "two-exits"],
)
def test_what_the_form_cannot_hold_is_left_to_the_json(change: object) -> None:
    document = copy.deepcopy(EVERY_KIND)
    change(document)  # type: ignore[operator]
    with pytest.raises(NotForm):
        form_of_document(document)
