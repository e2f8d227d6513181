"""Jinja2 templates: the built-in set, validation at save time, and rendering.

Why sandboxed and strict: templates are edited at runtime by organisation admins, and
every registered user is the admin of their own organisation. The sandbox blocks
attribute walks to Python internals, `range` is gone and big string/number operators are
capped, loops nest at most twice and output is bounded, so a template cannot burn the
service's CPU or memory. `StrictUndefined` plus an AST check against the event type's
declared variables turn a typo into a 422 when the template is saved, not a blank mail.
HTML parts autoescape; text parts (subject, body, SMS) do not, and subjects are folded to
one line so no template can inject a mail header.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from argosy.kernel.errors import Invalid
from argosy.services.notification.domain.catalog import (
    CHANNELS,
    COMMON_VARIABLES,
    EVENT_TYPES,
    Channel,
    Severity,
    event_type,
)

__all__ = [
    "BUILTIN_DIR", "LOCALES", "Parts", "Renderer", "builtin_id", "context", "parse_builtin_id",
]

BUILTIN_DIR: Final = Path(__file__).parent / "templates"
LOCALES: Final = ("en", "zh-CN")
MAX_SOURCE: Final = 20_000
MAX_OUTPUT: Final = 200_000
_MAX_LOOP_DEPTH: Final = 2
_MAX_REPEAT: Final = 10_000


@dataclass(frozen=True, slots=True)
class Parts:
    subject: str
    body: str
    html: str | None = None


class _Env(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) and n > _MAX_REPEAT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


def _env(autoescape: bool) -> _Env:
    env = _Env(undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=False)
    for name in ("range", "lipsum", "cycler", "joiner", "namespace", "dict"):
        env.globals.pop(name, None)
    return env


_TEXT, _HTML = _env(False), _env(True)


@lru_cache(maxsize=1024)
def _compiled(html: bool, source: str) -> Template:
    return (_HTML if html else _TEXT).from_string(source)


def builtin_id(event: str, channel: str, locale: str) -> str:
    return f"builtin.{event}.{channel}.{locale}"


def parse_builtin_id(template_id: str) -> tuple[str, str, str] | None:
    parts = template_id.split(".")
    if len(parts) != 4 or parts[0] != "builtin":
        return None
    return parts[1], parts[2], parts[3]


def _loop_depth(node: nodes.Node, depth: int = 0) -> int:
    here = depth + isinstance(node, nodes.For)
    return max([here, *(_loop_depth(child, here) for child in node.iter_child_nodes())])


def _render(html: bool, source: str, context: Mapping[str, Any]) -> str:
    out: list[str] = []
    size = 0
    for chunk in _compiled(html, source).generate(context):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise SecurityError(f"output longer than {MAX_OUTPUT} characters")
        out.append(chunk)
    return "".join(out)


class Renderer:
    """The built-in templates (TOML files, one per locale) and the rules every template,
    built-in or stored, is validated and rendered with."""

    def __init__(self, directory: Path = BUILTIN_DIR) -> None:
        self._builtin: dict[tuple[str, str, str], Parts] = {}
        for locale in LOCALES:
            with (directory / f"{locale}.toml").open("rb") as fh:
                table = tomllib.load(fh)
            for name in EVENT_TYPES:
                entry = table[name]
                for channel in CHANNELS:
                    self._builtin[(name, channel, locale)] = (
                        Parts(entry["subject"], entry["body"], entry["html"])
                        if channel == "email" else Parts(entry["subject"], entry["short"]))

    # -- lookup ------------------------------------------------------------------------
    def builtin(self, event: str, channel: str, locale: str) -> Parts:
        return self._builtin[(event, channel, self.locale(locale))]

    def builtins(self) -> Iterator[tuple[str, Channel, str, Parts]]:
        for (event, channel, locale), parts in self._builtin.items():
            yield event, next(c for c in CHANNELS if c == channel), locale, parts

    @staticmethod
    def locale(requested: str | None) -> str:
        """The best built-in locale: exact, then same language, then English."""
        if requested in LOCALES:
            return requested
        language = (requested or "en").split("-")[0].lower()
        return next((loc for loc in LOCALES if loc.split("-")[0] == language), "en")

    # -- validation and rendering ------------------------------------------------------
    def validate(self, event: str, parts: Parts) -> None:
        """Raise Invalid naming the part (subject, body, html) that cannot be used."""
        et = event_type(event)
        allowed = et.variables | COMMON_VARIABLES
        for name, source in (("subject", parts.subject), ("body", parts.body),
                             ("html", parts.html)):
            if source is None:
                continue
            if len(source) > MAX_SOURCE:
                raise Invalid(f"{name} is longer than {MAX_SOURCE} characters", field=name)
            env = _HTML if name == "html" else _TEXT
            try:
                tree = env.parse(source)
            except TemplateSyntaxError as exc:
                raise Invalid(f"{name}: template syntax error at line {exc.lineno}: "
                              f"{exc.message}", field=name) from None
            unknown = meta.find_undeclared_variables(tree) - allowed
            if unknown:
                raise Invalid(
                    f"{name} uses {', '.join(sorted(unknown))}, which {event} does not "
                    f"provide; available: {', '.join(sorted(allowed))}", field=name)
            if _loop_depth(tree) > _MAX_LOOP_DEPTH:
                raise Invalid(f"{name}: loops may nest at most {_MAX_LOOP_DEPTH} deep",
                              field=name)
        sample = et.sample_context()
        for name, source in (("subject", parts.subject), ("body", parts.body),
                             ("html", parts.html)):
            if source is None:
                continue
            try:
                text = _render(name == "html", source, sample)
            except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError,
                    AttributeError, LookupError) as exc:
                raise Invalid(f"{name} does not render on sample data: {exc}",
                              field=name) from None
            if name == "subject" and not text.strip():
                raise Invalid("subject renders empty on sample data", field=name)

    def render(self, parts: Parts, context: Mapping[str, Any]) -> Parts:
        """Render all parts; errors propagate (callers fall back to the built-in)."""
        subject = " ".join(_render(False, parts.subject, context).split())[:998]
        body = _render(False, parts.body, context).strip()
        html = _render(True, parts.html, context) if parts.html else None
        return Parts(subject, body, html)


def context(event: str, severity: Severity, variables: Mapping[str, Any], *, at: str,
            app_name: str, base_url: str) -> dict[str, Any]:
    """What a template sees: every declared variable (missing ones empty) and the common
    ones, so a stored template validated against the declaration always renders."""
    et = event_type(event)
    values: dict[str, Any] = dict.fromkeys(et.variables, "")
    values.update({k: v for k, v in variables.items() if k in et.variables})
    values.update(app_name=app_name, base_url=base_url.rstrip("/"), event_type=event,
                  severity=severity, at=at)
    return values
