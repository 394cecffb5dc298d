"""Segments and computed traits from YAML and JSON files (``omnikanal segments apply``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omnikanal.clock import FixedClock
from omnikanal.errors import InvalidInput
from omnikanal.hub import build_hub
from omnikanal.segments import files
from omnikanal.settings import Settings
from tests.conftest import utc

DEFINITIONS = """
computed_traits:
  - {name: lifetime_value, function: sum, event: Order Completed, property: revenue}
segments:
  - name: Werkzeug-Interessenten
    description: Szenario 8
    condition:
      all:
        - event:
            name: Product Viewed
            min: 3
            within_days: 14
            where: [{key: category, op: eq, value: Werkzeug}]
        - not: {event: {name: Order Completed, within_days: 14}}
  - name: Stammkunden
    condition: {computed: {name: lifetime_value, op: gte, value: 500}}
"""


def test_a_yaml_file_creates_then_updates_by_name_and_is_idempotent(
    settings: Settings, tmp_path: Path
) -> None:
    hub = build_hub(settings, FixedClock(utc(2026, 11, 20, 12)))
    try:
        path = tmp_path / "segments.yaml"
        path.write_text(DEFINITIONS, encoding="utf-8")
        first = files.apply(hub.segments, files.read(path), str(path), "file")
        assert [(a.kind, a.name, a.outcome) for a in first] == [
            ("computed_trait", "lifetime_value", "defined"),
            ("segment", "Werkzeug-Interessenten", "created"),
            ("segment", "Stammkunden", "created"),
        ]
        again = files.apply(hub.segments, files.read(path), str(path), "file")
        assert {a.outcome for a in again} == {"unchanged"}

        path.write_text(DEFINITIONS.replace("value: 500", "value: 800"), encoding="utf-8")
        changed = files.apply(hub.segments, files.read(path), str(path), "file")
        updated = [(a.name, a.outcome) for a in changed if a.outcome != "unchanged"]
        assert updated == [("Stammkunden", "updated")]
        stored = {s["name"]: s for s in hub.segments.all()}
        assert stored["Stammkunden"]["condition"] == {
            "computed": {"name": "lifetime_value", "op": "gte", "value": 800}
        }
        assert stored["Werkzeug-Interessenten"]["description"] == "Szenario 8"
    finally:
        hub.close()


@pytest.mark.parametrize(
    ("content", "suffix", "place"),
    [
        ("segments: [{name: a, condition: {event: {name: X, min: -1}}}]", ".yaml", "segments[0].condition"),
        ("segments: [{name: a}]", ".yaml", "segments[0]"),
        ("segments: [{name: a, condition: {trait: {key: k}}, colour: red}]", ".yaml", "segments[0]"),
        ("computed_traits: [{name: x, function: median}]", ".yaml", "computed_traits[0]"),
        ("segments: [{name: a, condition: {a: 1}}", ".yaml", "not valid YAML"),
        (json.dumps({"audiences": []}), ".json", "unknown keys"),
        (
            "segments: [{name: a, condition: {trait: {key: k, op: exists, value: true}}},"
            " {name: a, condition: {trait: {key: k, op: exists, value: true}}}]",
            ".yaml",
            "segments[1].name",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_place_and_nothing_is_applied(
    settings: Settings, tmp_path: Path, content: str, suffix: str, place: str
) -> None:
    hub = build_hub(settings, FixedClock(utc(2026, 11, 20, 12)))
    try:
        path = tmp_path / f"bad{suffix}"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(InvalidInput) as caught:
            files.apply(hub.segments, files.read(path), str(path), "file")
        assert place in caught.value.message
        assert str(path) in caught.value.message
        assert hub.segments.all() == []
    finally:
        hub.close()


def test_the_command_applies_a_file_and_reports_errors_with_exit_code_2(tmp_path: Path) -> None:
    env = {**os.environ, "OMNIKANAL_DATA_DIR": str(tmp_path), "OMNIKANAL_DATABASE_URL": ""}
    good = tmp_path / "segments.yml"
    good.write_text(DEFINITIONS, encoding="utf-8")
    run = [sys.executable, "-m", "omnikanal", "segments", "apply"]
    done = subprocess.run([*run, str(good)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Werkzeug-Interessenten" in done.stdout
    assert "created" in done.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("segments: [{name: x, condition: {event: {name: X, within_days: 0}}}]", encoding="utf-8")
    done = subprocess.run([*run, str(bad)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "segments[0].condition" in done.stdout + done.stderr
