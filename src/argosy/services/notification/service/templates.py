"""Template management: list, save (validated), preview on sample data, revert.

An organisation admin overrides the built-ins for their organisation; an operator (an
identity without organisation, `notifications:admin`) sets platform-wide overrides. A
template is validated before it is stored (syntax, declared variables, a render on the
event type's sample data), so a broken template is a 422 naming the part, never a blank
message later.
"""

from __future__ import annotations

from typing import Any

from argosy.kernel.clock import ns_to_iso
from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.ids import new_id
from argosy.services.notification.domain.addresses import check_locale
from argosy.services.notification.domain.catalog import (
    CHANNELS,
    EVENT_TYPES,
    check_channel,
    check_event_type,
    check_severity,
    event_type,
)
from argosy.services.notification.models import TemplateRow
from argosy.services.notification.rendering import (
    LOCALES,
    Parts,
    builtin_id,
    parse_builtin_id,
)
from argosy.services.notification.schemas import (
    EventTypeOut,
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateOut,
)
from argosy.services.notification.service._context import Caller, Deps
from argosy.services.notification.store import GLOBAL_ORG

__all__ = ["TemplatesService"]

def _row_out(r: TemplateRow) -> TemplateOut:
    return TemplateOut(id=r.id, event_type=r.event_type, channel=r.channel, locale=r.locale,
                       subject=r.subject, body=r.body, html=r.html,
                       scope="platform" if r.org_id == GLOBAL_ORG else "organisation",
                       version=r.version, updated_at=ns_to_iso(r.updated_ns),
                       updated_by=r.updated_by)


class TemplatesService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    def event_types(self) -> list[EventTypeOut]:
        return [EventTypeOut(name=e.name, description=e.description, severity=e.severity,
                             transactional=e.transactional, variables=sorted(e.variables),
                             sample=dict(e.sample)) for e in EVENT_TYPES.values()]

    async def list(self, c: Caller, *, event: str | None, channel: str | None,
                   locale: str | None) -> list[TemplateOut]:
        """The effective set: built-ins, replaced by platform then organisation overrides."""
        if event is not None:
            check_event_type(event)
        if channel is not None:
            check_channel(channel)
        async with self.d.db.read() as s:
            rows = await self.d.store.templates(s, c.org)
        chosen: dict[tuple[str, str, str], TemplateOut] = {}
        for ev, ch, loc, parts in self.d.renderer.builtins():
            chosen[(ev, ch, loc)] = TemplateOut(
                id=builtin_id(ev, ch, loc), event_type=ev, channel=ch, locale=loc,
                subject=parts.subject, body=parts.body, html=parts.html, scope="builtin",
                version=0, updated_at=None, updated_by=None)
        for r in sorted(rows, key=lambda r: r.org_id != GLOBAL_ORG):  # organisation wins
            chosen[(r.event_type, r.channel, r.locale)] = _row_out(r)
        return [t for (ev, ch, loc), t in sorted(chosen.items())
                if (event is None or ev == event) and (channel is None or ch == channel)
                and (locale is None or loc == locale)]

    async def save(self, c: Caller, body: TemplateIn) -> tuple[TemplateOut, bool]:
        ev = check_event_type(body.event_type)
        ch = check_channel(body.channel)
        loc = check_locale(body.locale)  # any tag: an organisation may add a language
        html = body.html if ch == "email" else None
        if body.html and ch != "email":
            raise Invalid("only email templates have an HTML part", field="html")
        self.d.renderer.validate(ev, Parts(body.subject, body.body, html))
        now = self.d.now()
        async with self.d.db.transaction() as s:
            row = await self.d.store.template_by_key(s, c.org, ev, ch, loc)
            created = row is None
            if row is None:
                row = TemplateRow(id=new_id("tpl"), org_id=c.org, event_type=ev, channel=ch,
                                  locale=loc, version=0, created_ns=now)
                s.add(row)
            row.subject, row.body, row.html = body.subject, body.body, html
            row.version += 1
            row.updated_by, row.updated_ns = c.principal.subject[:80], now
        self.d.templates.clear()
        return _row_out(row), created

    async def _parts(self, c: Caller, template_id: str) -> tuple[str, Parts]:
        builtin = parse_builtin_id(template_id)
        if builtin is not None:
            ev, ch, loc = builtin
            if ev not in EVENT_TYPES or loc not in LOCALES or ch not in CHANNELS:
                raise NotFound("no such template", field="template_id")
            return ev, self.d.renderer.builtin(ev, ch, loc)
        async with self.d.db.read() as s:
            row = await self.d.store.template(s, template_id, {c.org, GLOBAL_ORG})
        if row is None:
            raise NotFound("no such template", field="template_id")
        return row.event_type, Parts(row.subject, row.body, row.html)

    async def preview(self, c: Caller, template_id: str, body: PreviewIn) -> PreviewOut:
        ev, parts = await self._parts(c, template_id)
        et = event_type(ev)
        severity = check_severity(body.severity) if body.severity else et.severity
        unknown = sorted(set(body.data) - et.variables)
        if unknown:
            raise Invalid(f"{ev} has no variable {unknown[0]!r}", field=f"data.{unknown[0]}")
        ctx: dict[str, Any] = {**et.sample_context(severity), **body.data}
        try:
            out = self.d.renderer.render(parts, ctx)
        except Exception as exc:
            raise Invalid(f"does not render with this data: {exc}", field="data") from None
        return PreviewOut(subject=out.subject, body=out.body, html=out.html)

    async def delete(self, c: Caller, template_id: str) -> None:
        """Revert an override to what is underneath (platform override or built-in)."""
        async with self.d.db.transaction() as s:
            row = await self.d.store.template(s, template_id, {c.org}, lock=True)
            if row is None:
                raise NotFound("no such template override", field="template_id")
            await s.delete(row)
        self.d.templates.clear()
