"""KYC cases: the applicant uploads documents, reviewers of the same organisation move the
case along the state machine (domain/kyc.py). Documents are encrypted before they reach
the object store (their data key is sealed in the database), so a leaked bucket leaks
nothing readable. Every transition is audited and published as `users.kyc.changed`.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.ids import new_id
from argosy.services.users.domain.kyc import KycAction, KycState, sniff_content_type, transition
from argosy.services.users.events import KycChanged
from argosy.services.users.models import KycCaseRow, KycDocumentRow
from argosy.services.users.schemas import KycCaseOut, KycDocumentOut
from argosy.services.users.service._context import Caller, Deps, iso

__all__ = ["DocumentFile", "KycService", "Upload"]

log = structlog.get_logger("argosy.users.kyc")


@dataclass(frozen=True, slots=True)
class Upload:
    kind: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class DocumentFile:
    filename: str
    content_type: str
    data: bytes


def _doc_out(r: KycDocumentRow) -> KycDocumentOut:
    return KycDocumentOut(id=r.id, kind=r.kind, filename=r.filename, content_type=r.content_type,
                          size=r.size, sha256=r.sha256, uploaded_at=iso(r.uploaded_ns))


class KycService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    def _check(self, up: Upload) -> str:
        st = self.d.settings
        if not up.data:
            raise Invalid("the file is empty", field="file")
        if len(up.data) > st.kyc_max_bytes:
            raise Invalid(f"the file is larger than {st.kyc_max_bytes} bytes", field="file")
        sniffed = sniff_content_type(up.data[:16])
        if sniffed is None or sniffed not in st.kyc_content_types:
            raise Invalid(f"accepted files: {', '.join(st.kyc_content_types)}", field="file")
        declared = up.content_type.split(";")[0].strip().lower()
        if declared not in ("", "application/octet-stream", sniffed):
            raise Invalid(f"the file is {sniffed}, not {declared}", field="file")
        return sniffed

    async def submit(self, c: Caller, up: Upload) -> KycCaseOut:
        d, now = self.d, self.d.now()
        content_type = self._check(up)
        async with d.db.read() as s:
            await d.active_user(s, c)
            case = await d.store.kyc_case(s, c.user_id, c.org)
        state = KycState(case.state) if case else KycState.NONE
        transition(state, KycAction.SUBMIT, actor=c.user_id, subject=c.user_id)  # fail early
        doc_id = new_id("kyd")
        key_sealed, ciphertext = d.vault.seal_detached(up.data, f"kyc:{doc_id}")
        object_key = f"kyc/{c.org}/{c.user_id}/{doc_id}"
        await d.objects.put(object_key, ciphertext, content_type="application/octet-stream")
        try:
            async with d.db.transaction() as s:
                case = await d.store.kyc_case(s, c.user_id, c.org, lock=True)
                if case is None:
                    case = KycCaseRow(user_id=c.user_id, org_id=c.org, state="none",
                                      updated_ns=now)
                    s.add(case)
                s.add(KycDocumentRow(
                    id=doc_id, user_id=c.user_id, org_id=c.org, kind=up.kind,
                    filename=up.filename[:255], content_type=content_type, size=len(up.data),
                    sha256=hashlib.sha256(up.data).hexdigest(), object_key=object_key,
                    key_sealed=key_sealed, uploaded_ns=now,
                ))
                await self._move(s, c, case, KycAction.SUBMIT, None, {"document_id": doc_id,
                                                                      "kind": up.kind})
        except BaseException:
            with contextlib.suppress(Exception):  # best effort: an orphan is only ciphertext
                await d.objects.delete(object_key)
            raise
        return await self.case(c, c.user_id)

    async def case(self, c: Caller, user_id: str) -> KycCaseOut:
        """The applicant's own case, or any case of the organisation for a reviewer."""
        async with self.d.db.read() as s:
            if user_id != c.user_id:
                target = await self.d.store.user(s, user_id, c.org)
                if target is None or not c.allows("kyc:review"):
                    raise NotFound("no such KYC case", field="user_id")
            case = await self.d.store.kyc_case(s, user_id, c.org)
            docs = await self.d.store.kyc_documents(s, user_id, c.org)
        return KycCaseOut(
            user_id=user_id, state=case.state if case else "none",
            reason=case.reason if case else None, reviewer=case.reviewer if case else None,
            updated_at=iso(case.updated_ns) if case else None,
            documents=[_doc_out(r) for r in docs],
        )

    async def queue(self, c: Caller, state: str | None, limit: int) -> list[KycCaseOut]:
        c.require("kyc:review")
        if state is not None and state not in {s.value for s in KycState}:
            raise Invalid(f"unknown state {state!r}", field="state")
        async with self.d.db.read() as s:
            rows = await self.d.store.kyc_cases(s, c.org, state, limit)
        return [await self.case(c, r.user_id) for r in rows]

    async def review(self, c: Caller, user_id: str, action: str,
                     reason: str | None) -> KycCaseOut:
        d = self.d
        async with d.db.transaction() as s:
            case = await d.store.kyc_case(s, user_id, c.org, lock=True)
            if case is None:
                raise NotFound("no such KYC case", field="user_id")
            c.require("kyc:review")
            await d.active_user(s, c)
            await self._move(s, c, case, KycAction(action), reason, {})
        return await self.case(c, user_id)

    async def document(self, c: Caller, doc_id: str) -> DocumentFile:
        d = self.d
        async with d.db.read() as s:
            row = await d.store.kyc_document(s, doc_id, c.org)
        if row is None or (row.user_id != c.user_id and not c.allows("kyc:review")):
            raise NotFound("no such document", field="document_id")
        data = d.unseal_detached(row.key_sealed, await d.objects.get(row.object_key),
                                 f"kyc:{row.id}")
        if row.user_id != c.user_id:
            async with d.db.transaction() as s:
                await d.audit.append(s, c.who, "kyc.document_viewed", target_type="kyc_document",
                                     target_id=row.id, detail={"applicant": row.user_id})
        return DocumentFile(row.filename, row.content_type, data)

    async def _move(self, s: AsyncSession, c: Caller, case: KycCaseRow, action: KycAction,
                    reason: str | None, detail: dict[str, str]) -> None:
        d, now = self.d, self.d.now()
        before = KycState(case.state)
        after = transition(before, action, actor=c.user_id, subject=case.user_id, reason=reason)
        case.state, case.updated_ns = after.value, now
        if action is not KycAction.SUBMIT:
            case.reviewer = c.user_id
        case.reason = reason.strip() if action is KycAction.REJECT and reason else None
        await d.audit.append(s, c.who, f"kyc.{action.value}", target_type="kyc_case",
                             target_id=case.user_id,
                             detail={**detail, "from": before.value, "to": after.value,
                                     "reason": case.reason})
        if after is not before:
            await d.events.publish(s, KycChanged(
                at_ms=now // 1_000_000, user_id=case.user_id, org=case.org_id, state=after.value,
                previous=before.value, reason=case.reason, actor=f"user:{c.user_id}",
            ))
        log.info("users.kyc_moved", user_id=case.user_id, state=after.value)
