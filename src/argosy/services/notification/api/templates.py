"""/api/v1/notifications/templates (notifications:admin) and /event-types."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from argosy.services.notification.api._deps import ERRORS, RequestDeps
from argosy.services.notification.schemas import (
    EventTypeOut,
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateOut,
)
from argosy.services.notification.service._context import Caller
from argosy.services.notification.service.templates import TemplatesService

__all__ = ["router"]

Id = Annotated[str, Path(max_length=80)]
Filter = Annotated[str | None, Query(max_length=40)]


def router(deps: RequestDeps, templates: TemplatesService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/notifications", tags=["templates"], responses=ERRORS)
    Admin = Annotated[Caller, Depends(deps.admin)]  # noqa: N806
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get("/event-types", summary="Event types, their variables and sample data")
    async def event_types(c: Who) -> dict[str, list[EventTypeOut]]:
        c.require("notifications:read")
        return {"items": templates.event_types()}

    @r.get("/templates", summary="Effective templates (built-in unless overridden)")
    async def list_templates(c: Admin, event_type: Filter = None, channel: Filter = None,
                             locale: Filter = None) -> dict[str, list[TemplateOut]]:
        return {"items": await templates.list(c, event=event_type, channel=channel,
                                              locale=locale)}

    @r.post("/templates", status_code=201, summary="Create or replace an override",
            description="Keyed by (event_type, channel, locale). Refused with a 422 naming "
            "the part on a syntax error, a variable the event type does not provide, or a "
            "render failure on its sample data. Replacing an existing override answers 200.")
    async def save(body: TemplateIn, c: Admin, response: Response) -> TemplateOut:
        out, created = await templates.save(c, body)
        response.status_code = 201 if created else 200
        return out

    @r.post("/templates/{template_id}/preview", summary="Render on sample data")
    async def preview(template_id: Id, body: PreviewIn, c: Admin) -> PreviewOut:
        return await templates.preview(c, template_id, body)

    @r.delete("/templates/{template_id}", status_code=204, summary="Remove an override")
    async def delete(template_id: Id, c: Admin) -> Response:
        await templates.delete(c, template_id)
        return Response(status_code=204)

    return r
