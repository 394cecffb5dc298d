"""MkDocs hook: the pages that are generated from the code at every build.

``configuration.md`` exists only in the build: it lists every field of
``omnikanal.settings.Settings`` with its environment variable, type, limits, default and
description, so a setting added to the class appears in the docs without anyone writing it down.
The architecture page's code layout is read from the source tree the same way.
"""

from __future__ import annotations

import ast
import html
import importlib
import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import annotated_types
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

PAGE = "configuration.md"

# Settings are prefixed by capability; a prefix not listed here gets a section of its own, named
# after it, so a new capability's settings still land on the page in a group. An entry ending in
# "_" is a prefix, any other one a whole name.
# (section title, name prefixes, the page that explains them, that page's title)
SECTIONS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    (
        "General",
        ("data_dir", "database_url", "auto_migrate", "host", "port", "public_url", "secret_key"),
        "operations.md",
        "Operations",
    ),
    ("Sources and ingest", ("max_", "ingest_"), "sources.md", "Sources and ingest"),
    (
        "Identity and profiles",
        ("default_phone_region", "junk_", "identifier_", "default_identifier_", "trait_"),
        "identity.md",
        "Identity and profiles",
    ),
    ("Database and worker", ("sqlite_", "worker_", "page_size_"), "operations.md", "Operations"),
    ("Consent and privacy", ("consent_", "preference_", "retention_"), "consent.md", "Consent and privacy"),
    ("Commerce", ("reservation_", "commerce_", "scan_", "catalogue_"), "commerce.md", "Commerce"),
    ("Segments", ("segment_",), "segments.md", "Segments and computed traits"),
    (
        "Messaging",
        ("smtp_", "messaging_", "twilio_", "webhook_", "push_", "sms_", "report_"),
        "messaging.md",
        "Messaging",
    ),
    ("Journeys", ("journey_",), "journeys.md", "Journeys"),
    (
        "Console, staff and HTTP",
        ("console_", "api_", "callback_", "public_form_", "trusted_proxies"),
        "staff.md",
        "Staff, sign-in and API tokens",
    ),
    ("The browser as a channel", ("browser_",), "browser.md", "The webshop in the browser"),
    ("Probabilistic matching", ("matching_",), "matching.md", "Probabilistic matching"),
    ("Recommendations", ("recommend_",), "recommend.md", "Recommendations"),
)

# Defaults longer than this go under the description instead of into their own column.
SHORT_DEFAULT = 32

INTRO = """# Configuration reference

Every setting is an environment variable: `OMNIKANAL_` and the setting's name in capitals, read once
when a process starts (`src/omnikanal/settings/`). Lists, tuples and mappings are given as JSON,
for example `OMNIKANAL_IDENTIFIER_LIMITS='{"email": 3}'`; booleans as `true` or `false`. A value
that does not fit its type or limits stops the process with the setting's name and the problem.

This page is generated from the settings class at every docs build, so it lists every setting
there is.
"""


def section_of(name: str) -> tuple[str, str]:
    """The section title of a setting, by its name's prefix, and a link to its page (or nothing)."""
    for title, prefixes, page, page_title in SECTIONS:
        if any(name.startswith(p) if p.endswith("_") else name == p for p in prefixes):
            return title, f"[{page_title}]({page})"
    return name.split("_", 1)[0].capitalize(), ""


def env_name(settings: type[BaseSettings], name: str) -> str:
    return f"{settings.model_config.get('env_prefix', '')}{name}".upper()


def type_text(annotation: Any) -> str:
    """The annotation as it reads in the source: ``int``, ``str | None``, ``dict[str, int]``."""
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias):
        return annotation.__name__
    return repr(annotation).replace("typing.", "").replace("pathlib.", "")


def limits_text(field: FieldInfo) -> str:
    symbols = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}
    parts = []
    for item in field.metadata:
        for attribute, symbol in symbols.items():
            if isinstance(item, annotated_types.BaseMetadata) and hasattr(item, attribute):
                parts.append(f"{symbol} {getattr(item, attribute)}")
    return ", ".join(parts)


def default_text(name: str, value: Any) -> str:
    """The default as one would write it into the environment variable."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return "empty" if value == "" else code(value)
    if isinstance(value, Path):
        return code(value.as_posix())
    if isinstance(value, float):
        return code(str(int(value)) if value.is_integer() else repr(value))
    if isinstance(value, int):
        if name.endswith("_bytes") and value >= 1024:
            return f"{code(str(value))} ({_bytes(value)})"
        return code(str(value))
    if isinstance(value, tuple | list | dict):
        return code(json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False))
    return code(str(value))


def _bytes(value: int) -> str:
    if value % (1024 * 1024) == 0:
        return f"{value // (1024 * 1024)} MiB"
    return f"{value / 1024:g} KiB"


def code(text: str) -> str:
    # A pipe inside a code span does not end a table cell (Python-Markdown's tables).
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def prose(text: str) -> str:
    """Text as one Markdown line for a table cell: HTML-escaped outside code spans, whose
    reStructuredText double backticks become Markdown's single ones."""
    pieces = " ".join(text.split()).replace("``", "`").split("`")
    for index in range(0, len(pieces), 2):
        pieces[index] = html.escape(pieces[index], quote=False).replace("|", "&#124;")
    return "`".join(pieces)


def rows(settings: type[BaseSettings]) -> Iterator[tuple[str, str, str, str]]:
    """(section title, link to its page, anchor, Markdown table row) per field, in the class's order."""
    for name, field in settings.model_fields.items():
        title, link = section_of(name)
        variable = env_name(settings, name)
        kind = f"`{type_text(field.annotation)}`"
        if limits := limits_text(field):
            kind += f", {limits}"
        default = default_text(name, field.get_default(call_default_factory=True))
        description = prose(field.description or "")
        if len(default) > SHORT_DEFAULT:
            description += f" Default: {default}."
            default = "see description"
        anchor = variable.lower()
        row = f'| <code id="{anchor}">{variable}</code> | {kind} | {default} | {description} |'
        yield title, link, anchor, row


def settings_reference(settings: type[BaseSettings]) -> str:
    """The whole page: the introduction, then one table per section."""
    sections: dict[str, tuple[str, list[str]]] = {}
    for title, link, _anchor, row in rows(settings):
        sections.setdefault(title, (link, []))[1].append(row)
    lines = [INTRO]
    for title, (link, section_rows) in sections.items():
        lines.append(f"## {title}\n")
        if link:
            lines.append(f"How they work: {link}.\n")
        lines.append("| variable | type | default | description |")
        lines.append("|---|---|---|---|")
        lines.extend(section_rows)
        lines.append("")
    return "\n".join(lines)


def anchors(settings: type[BaseSettings]) -> list[str]:
    """The anchor of every setting on the page (``omnikanal_smtp_url``), for links to one."""
    return [anchor for _title, _page, anchor, _row in rows(settings)]


LAYOUT_MARKER = "<!-- generated: layout -->"


def _summary(path: Path) -> str:
    """The first paragraph of a module's docstring, or nothing."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return prose(doc.strip().split("\n\n", 1)[0])


def code_layout(package: Path) -> str:
    """Two tables: the packages with their modules, and the top-level modules."""
    lines = ["| package | modules | what it is |", "|---|---|---|"]
    for folder in sorted(p for p in package.iterdir() if (p / "__init__.py").is_file()):
        modules = sorted(m.stem for m in folder.glob("*.py") if m.name != "__init__.py")
        modules += sorted(f"{d.name}/" for d in folder.iterdir() if d.is_dir() and d.name != "__pycache__")
        listed = ", ".join(f"`{m}`" for m in modules)
        lines.append(f"| `{folder.name}/` | {listed} | {_summary(folder / '__init__.py')} |")
    lines += ["", "| module | what it is |", "|---|---|"]
    for module in sorted(package.glob("*.py")):
        if module.name not in {"__init__.py", "__main__.py"}:
            lines.append(f"| `{module.name}` | {_summary(module)} |")
    return "\n".join(lines) + "\n"


def _current_settings() -> type[BaseSettings]:
    # `mkdocs serve` rebuilds in one process: read the settings module afresh, so an edited field
    # shows up on the next build. (Only ever called inside MkDocs, never in a process using them.)
    # The fields are declared in a chain of modules (settings/core.py first): each link afresh, in
    # the chain's order, then the package that puts them together.
    for link in ("core", "channels", "analytics"):
        importlib.reload(importlib.import_module(f"omnikanal.settings.{link}"))
    module = importlib.reload(importlib.import_module("omnikanal.settings"))
    settings: type[BaseSettings] = module.Settings
    return settings


def on_files(files: Files, config: MkDocsConfig) -> Files:
    files.append(File.generated(config, PAGE, content=settings_reference(_current_settings())))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if LAYOUT_MARKER not in markdown:
        return markdown
    package = Path(importlib.import_module("omnikanal").__file__ or "").parent
    return markdown.replace(LAYOUT_MARKER, code_layout(package))
