"""/api/v1/notifications/preferences, /push/*, /test: a user's own settings."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from argosy.services.notification.api._deps import ERRORS, RequestDeps
from argosy.services.notification.schemas import (
    PreferencesIn,
    PreferencesOut,
    PushKeyOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
    TestIn,
    TestOut,
)
from argosy.services.notification.service._context import Caller
from argosy.services.notification.service.preferences import PreferencesService

__all__ = ["router"]

Id = Annotated[str, Path(max_length=40)]


def router(deps: RequestDeps, prefs: PreferencesService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/notifications", tags=["preferences"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get("/preferences", summary="My notification preferences (with effective defaults)")
    async def get(c: Who) -> PreferencesOut:
        return await prefs.get(c)

    @r.put("/preferences", summary="Replace my preferences",
           description="Addresses, routing per event type or severity, quiet hours in an IANA "
           "time zone, digests. A webhook URL gets a signing secret, shown only in this "
           "response (`rotate_webhook_secret` issues a new one). Invalid input is a 422 "
           "naming the field and changes nothing.")
    async def put(body: PreferencesIn, c: Who) -> PreferencesOut:
        return await prefs.put(c, body)

    @r.get("/push/key", summary="The VAPID public key browsers subscribe with")
    async def push_key(c: Who) -> PushKeyOut:
        c.require("notifications:read")
        return PushKeyOut(public_key=prefs.push_key())

    @r.post("/push/subscribe", status_code=201, summary="Register this browser for Web Push",
            description="Body: `PushSubscription.toJSON()`. Re-subscribing the same "
            "endpoint updates it (200).")
    async def subscribe(body: PushSubscriptionIn, c: Who, request: Request,
                        response: Response) -> PushSubscriptionOut:
        out, created = await prefs.subscribe_push(c, body,
                                                  request.headers.get("user-agent", ""))
        response.status_code = 201 if created else 200
        return out

    @r.delete("/push/subscriptions/{subscription_id}", status_code=204,
              summary="Forget a browser")
    async def unsubscribe(subscription_id: Id, c: Who) -> Response:
        await prefs.unsubscribe_push(c, subscription_id)
        return Response(status_code=204)

    @r.post("/test", status_code=202, summary="Send myself a test message on one channel",
            description="Bypasses routing, quiet hours and digests; follow it on "
            "/deliveries. 503 when this server has no credentials for the channel.")
    async def test(body: TestIn, c: Who) -> TestOut:
        return await prefs.test(c, body)

    return r
