"""KYC (/api/v1/kyc): the applicant's upload and case, and the reviewers' queue.

The upload form is parsed by hand so that an unexpected form field (`user_id`, `state`...)
is refused like an unexpected JSON field, and the file is read only up to the size limit.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.datastructures import UploadFile

from argosy.kernel.errors import Invalid
from argosy.services.users.api._deps import ERRORS, RequestDeps
from argosy.services.users.schemas import KycCaseOut, KycReviewIn
from argosy.services.users.service._context import Caller
from argosy.services.users.service.kyc import KycService, Upload

__all__ = ["router"]

Id = Annotated[str, Path(max_length=40)]
KINDS = ("passport", "id_card", "driving_licence", "proof_of_address", "selfie")
_UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "kind"], "additionalProperties": False,
    "properties": {"file": {"type": "string", "format": "binary"},
                   "kind": {"type": "string", "enum": list(KINDS)}},
}}}}}


async def _read_upload(request: Request, max_bytes: int) -> Upload:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise Invalid("send multipart/form-data with `file` and `kind`", field="file")
    form = await request.form(max_files=1, max_fields=4, max_part_size=4096)
    extra = sorted(set(form.keys()) - {"file", "kind"})
    if extra:
        raise Invalid(f"unexpected field {extra[0]!r}", field=extra[0])
    file, kind = form.get("file"), form.get("kind")
    if not isinstance(file, UploadFile):
        raise Invalid("a file is required", field="file")
    if not isinstance(kind, str) or kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}", field="kind")
    data = await file.read(max_bytes + 1)
    await file.close()
    return Upload(kind=kind, filename=file.filename or "document", data=data,
                  content_type=file.content_type or "")


def router(deps: RequestDeps, kyc: KycService, max_bytes: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1/kyc", tags=["kyc"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.post("", status_code=201, openapi_extra=_UPLOAD_DOC,
            summary="Upload a KYC document (PDF, JPEG or PNG); submits the case")
    async def upload(request: Request, c: Who) -> KycCaseOut:
        return await kyc.submit(c, await _read_upload(request, max_bytes))

    @r.get("", summary="My KYC case and documents")
    async def mine(c: Who) -> KycCaseOut:
        return await kyc.case(c, c.user_id)

    @r.get("/cases", summary="Reviewers: cases of the organisation, oldest first")
    async def queue(
        c: Who,
        state: Annotated[Literal["none", "submitted", "under_review", "approved", "rejected"]
                         | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, list[KycCaseOut]]:
        return {"items": await kyc.queue(c, state, limit)}

    @r.get("/cases/{user_id}", summary="Reviewers (or the applicant): one case")
    async def case(user_id: Id, c: Who) -> KycCaseOut:
        return await kyc.case(c, user_id)

    @r.post("/cases/{user_id}/review",
            summary="Reviewers: start_review, approve, or reject (with a reason)")
    async def review(user_id: Id, body: KycReviewIn, c: Who) -> KycCaseOut:
        return await kyc.review(c, user_id, body.action, body.reason)

    @r.get("/documents/{document_id}", summary="Download a document (applicant or reviewer)",
           response_class=Response)
    async def document(document_id: Id, c: Who) -> Response:
        doc = await kyc.document(c, document_id)
        safe = "".join(ch for ch in doc.filename if ch.isalnum() or ch in "._-")[:100] or "doc"
        return Response(doc.data, media_type=doc.content_type, headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    return r
