"""Templates: Jinja2 in a sandbox, checked when saved, rendered per customer.

Authors get a fixed set of names: ``traits`` (the profile's traits), ``profile`` (id and traits),
``data`` (what the caller sent: an order, a product), ``links`` (``preference_url``,
``unsubscribe_url``), ``message`` (its id, channel), ``locale`` and ``track(url)`` (a tracked link).
Anything else is refused when saving, with the field and line, so a typo never reaches a customer.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SandboxedEnvironment

from omnikanal.errors import InvalidInput

ALLOWED_NAMES: frozenset[str] = frozenset(
    {"traits", "profile", "data", "links", "message", "locale", "track", "recommendations"}
)
FIELDS: tuple[str, ...] = ("subject", "body_text", "body_html")

# Text parts and SMS are not HTML: no escaping there. The HTML part escapes every value.
_TEXT_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML_ENV = SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)


class RenderFailed(Exception):
    """A stored template failed at render time (a sandbox violation, an error in a filter)."""


@dataclass(frozen=True, slots=True)
class TemplateParts:
    subject: str | None
    body_text: str
    body_html: str | None


def _env(field: str) -> SandboxedEnvironment:
    return _HTML_ENV if field == "body_html" else _TEXT_ENV


def check(parts: TemplateParts, *, channel: str, prefix: str = "") -> None:
    """Refuse a template with a syntax error or an unknown variable, naming the field and line."""
    if channel == "email" and not (parts.subject or "").strip():
        raise InvalidInput(
            "missing_subject", f"{prefix}subject: an email needs a subject", f"{prefix}subject"
        )
    if not parts.body_text.strip():
        raise InvalidInput(
            "missing_body", f"{prefix}body_text: the text must not be empty", f"{prefix}body_text"
        )
    for field in FIELDS:
        source = getattr(parts, field)
        if source is None:
            continue
        name = f"{prefix}{field}"
        env = _env(field)
        try:
            ast = env.parse(source)
        except TemplateSyntaxError as exc:
            raise InvalidInput(
                "template_syntax",
                f"{name}, line {exc.lineno}: {exc.message}",
                name,
            ) from None
        unknown = sorted(find_undeclared_variables(ast) - ALLOWED_NAMES)
        if unknown:
            first = unknown[0]
            line = next(
                (n.lineno for n in ast.find_all(nodes.Name) if n.name == first and n.ctx == "load"), 1
            )
            allowed = ", ".join(sorted(ALLOWED_NAMES))
            raise InvalidInput(
                "template_unknown_variable",
                f"{name}, line {line}: unknown variable {first!r}"
                + (f" (and {', '.join(repr(u) for u in unknown[1:])})" if len(unknown) > 1 else "")
                + f"; use one of: {allowed}",
                name,
            )


@dataclass(frozen=True, slots=True)
class RenderContext:
    profile_id: str
    traits: dict[str, Any]
    data: dict[str, Any]
    links: dict[str, str]
    message: dict[str, Any]
    locale: str
    track: Callable[[str], str]
    # the customer's recommended products ({product_id, sku, name, reason, personal}), when asked for
    recommendations: tuple[dict[str, Any], ...] = ()

    def variables(self) -> dict[str, Any]:
        return {
            "traits": self.traits,
            "profile": {"id": self.profile_id, "traits": self.traits},
            "data": self.data,
            "links": self.links,
            "message": self.message,
            "locale": self.locale,
            "track": self.track,
            "recommendations": list(self.recommendations),
        }


@lru_cache(maxsize=512)
def _compiled(field: str, source: str) -> Template:
    # Compiling is most of the cost of a render; the same few templates go to many customers.
    return _env(field).from_string(source)


def render(parts: TemplateParts, context: RenderContext) -> TemplateParts:
    variables = context.variables()
    rendered: dict[str, str | None] = {}
    for field in FIELDS:
        source = getattr(parts, field)
        if source is None:
            rendered[field] = None
            continue
        try:
            rendered[field] = _compiled(field, source).render(variables)
        except SecurityError as exc:
            raise RenderFailed(f"{field}: not allowed in a template: {exc}") from None
        except Exception as exc:  # a template can fail in many ways; the message records which
            raise RenderFailed(f"{field}: {type(exc).__name__}: {exc}") from None
    subject = rendered["subject"]
    return TemplateParts(
        subject=" ".join(subject.split()) if subject is not None else None,  # no header injection
        body_text=rendered["body_text"] or "",
        body_html=rendered["body_html"],
    )


def mentions(parts: TemplateParts, name: str) -> bool:
    """Whether a template's text names ``name`` at all: costly context is made only then."""
    return name in f"{parts.subject or ''}{parts.body_text}{parts.body_html or ''}"


def html_from_text(text: str) -> str:
    """An HTML part for an email whose template has only text."""
    paragraphs = [html_lib.escape(p).replace("\n", "<br>\n") for p in text.strip().split("\n\n")]
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f'<!doctype html>\n<html><head><meta charset="utf-8"></head><body>\n{body}\n</body></html>\n'
