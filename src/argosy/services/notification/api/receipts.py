"""/api/v1/notifications/sms/status/{delivery_id}: the SMS provider's status callbacks.

Unauthenticated by identity on purpose: the provider signs the request instead
(`X-Twilio-Signature`), and the service checks it. The provider must reach this route
directly or through a proxy that forwards it unchanged (see `sms_status_callback_url`).
"""

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Path, Request, Response

from argosy.kernel.errors import Invalid
from argosy.services.notification.api._deps import ERRORS
from argosy.services.notification.domain.receipts import SIGNATURE_HEADER
from argosy.services.notification.service.receipts import ReceiptsService

__all__ = ["router"]

_MAX_BODY = 16_384


def router(receipts: ReceiptsService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/notifications/sms", tags=["receipts"], responses=ERRORS)

    @r.post("/status/{delivery_id}", status_code=204,
            summary="SMS status callback (Twilio-compatible)",
            description="Form-encoded `MessageSid`, `MessageStatus`, `ErrorCode`... signed "
            "with `X-Twilio-Signature`. `delivered` marks the delivery delivered; `failed` "
            "and `undelivered` dead-letter it with the error code; other statuses are "
            "acknowledged and change nothing.")
    async def sms_status(
        request: Request, delivery_id: Annotated[str, Path(max_length=40)],
        signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
    ) -> Response:
        body = await request.body()
        if len(body) > _MAX_BODY:
            raise Invalid("the callback body is too large", field="body")
        try:
            form = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise Invalid("the callback body is not form-encoded UTF-8", field="body") from None
        await receipts.sms_status(delivery_id, form, signature)
        return Response(status_code=204)

    return r
