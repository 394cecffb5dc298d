"""Every setting is documented: it has a description, and the generated reference lists it with its
environment variable, type, limits and default."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from omnikanal.settings import Settings
from tests.docs_support import load_hooks


def undocumented(settings: type[BaseSettings]) -> list[str]:
    return [name for name, field in settings.model_fields.items() if not (field.description or "").strip()]


def test_every_setting_has_a_description() -> None:
    assert undocumented(Settings) == [], "give each a docstring under the field (or Field(description=))"


def test_a_setting_without_a_description_is_caught() -> None:
    class Later(Settings):
        later_thing: int = 3

    assert undocumented(Later) == ["later_thing"]


def test_descriptions_come_from_the_docstrings_under_the_fields() -> None:
    # a docstring field and a Field(description=) field: both styles are read
    assert (Settings.model_fields["secret_key"].description or "").startswith("Signs the links")
    assert Settings.model_fields["api_max_body_bytes"].description == "largest JSON body of an /api request"


def test_the_reference_lists_every_setting_with_its_variable_and_anchor() -> None:
    page = load_hooks().settings_reference(Settings)
    for name in Settings.model_fields:
        variable = f"OMNIKANAL_{name.upper()}"
        assert f'<code id="{variable.lower()}">{variable}</code>' in page, name


def test_a_row_shows_type_limits_default_and_description() -> None:
    page = load_hooks().settings_reference(Settings)
    row = next(line for line in page.splitlines() if 'id="omnikanal_console_page_rows"' in line)
    assert "`int`, ≥ 1, ≤ 500" in row
    assert "| `50` |" in row
    assert row.endswith('| Rows shown in console lists (search hits, timeline, tasks) before "more". |')
    secret = next(line for line in page.splitlines() if 'id="omnikanal_secret_key"' in line)
    assert "`str | None` | unset |" in secret
    size = next(line for line in page.splitlines() if 'id="omnikanal_max_request_bytes"' in line)
    assert "`512000` (500 KiB)" in size


def test_long_defaults_are_written_out_as_json_under_the_description() -> None:
    page = load_hooks().settings_reference(Settings)
    row = next(line for line in page.splitlines() if 'id="omnikanal_identifier_limits"' in line)
    assert "| see description |" in row
    assert 'Default: `{"user_id": 1, "email": 5, "phone": 5, "anonymous_id": 100}`.' in row


def test_a_setting_added_later_appears_in_a_section_of_its_prefix() -> None:
    class Later(Settings):
        cases_max_open: int = Field(default=20, ge=1, description="open service cases per <customer>")

    page = load_hooks().settings_reference(Later)
    assert "## Cases" in page
    row = next(line for line in page.splitlines() if "OMNIKANAL_CASES_MAX_OPEN" in line)
    assert row == (
        '| <code id="omnikanal_cases_max_open">OMNIKANAL_CASES_MAX_OPEN</code> | `int`, ≥ 1 | `20` '
        "| open service cases per &lt;customer&gt; |"
    )
