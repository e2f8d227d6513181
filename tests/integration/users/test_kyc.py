"""KYC: encrypted uploads to the object store, the reviewer state machine, events, audit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.users._harness import User, UsersHarness

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.7\n" + b"passport scan of Alice " * 40 + b"\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"kyc_max_bytes": 4096}


async def upload(h: UsersHarness, user: User, data: bytes = PDF, kind: str = "passport",
                 content_type: str = "application/pdf", **extra: Any) -> Any:
    files = {"file": ("passport.pdf", data, content_type)}
    return await h.call("POST", "/api/v1/kyc", user, files=files, data={"kind": kind, **extra})


async def test_upload_is_encrypted_at_rest_and_downloadable_by_its_owner(
    users: UsersHarness,
) -> None:
    alice = await users.register()
    r = await upload(users, alice)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["state"] == "submitted"
    (doc,) = case["documents"]
    assert (doc["content_type"], doc["size"], doc["kind"]) == ("application/pdf", len(PDF),
                                                              "passport")
    objects = users.runtime.objects
    assert objects is not None
    (stored,) = await objects.list("kyc/")
    raw = await objects.get(stored.key)
    assert b"passport scan" not in raw
    assert b"%PDF" not in raw
    got = await users.call("GET", f"/api/v1/kyc/documents/{doc['id']}", alice)
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    event = await users.event("users.kyc.changed", user_id=alice.id)
    assert (event["previous"], event["state"]) == ("none", "submitted")
    assert (await users.call("GET", "/api/v1/users/me", alice)).json()["kyc_state"] == \
        "submitted"


@pytest.mark.parametrize(("data", "ctype", "extra", "field"), [
    (b"hello, not a document", "application/pdf", {}, "file"),
    (PDF, "image/png", {}, "file"),
    (b"%PDF-" + b"x" * 5000, "application/pdf", {}, "file"),
    (b"", "application/pdf", {}, "file"),
    (PDF, "application/pdf", {"user_id": "usr_someone"}, "user_id"),
    (PDF, "application/pdf", {"state": "approved"}, "state"),
])
async def test_bad_uploads_are_refused_and_store_nothing(
    users_sqlite: UsersHarness, data: bytes, ctype: str, extra: dict[str, str], field: str,
) -> None:
    h = users_sqlite
    alice = await h.register()
    r = await upload(h, alice, data, content_type=ctype, **extra)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert (await h.sql("SELECT COUNT(*) FROM kyc_documents"))[0][0] == 0
    assert h.runtime.objects is not None
    assert await h.runtime.objects.list("kyc/") == []
    r = await upload(h, alice, kind="tax_return")
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "kind"


async def test_reviewers_move_cases_and_every_step_is_audited(users: UsersHarness) -> None:
    admin = await users.register()
    applicant = await users.invite(admin, roles=["trader"])
    assert (await upload(users, applicant)).status_code == 201
    assert (await upload(users, applicant, PNG, kind="selfie",
                         content_type="image/png")).status_code == 201
    base = f"/api/v1/kyc/cases/{applicant.id}"
    queue = (await users.call("GET", "/api/v1/kyc/cases?state=submitted", admin)).json()
    assert [c["user_id"] for c in queue["items"]] == [applicant.id]
    assert len(queue["items"][0]["documents"]) == 2
    doc_id = queue["items"][0]["documents"][0]["id"]
    assert (await users.call("GET", f"/api/v1/kyc/documents/{doc_id}", admin)).content == PDF

    r = await users.call("POST", f"{base}/review", applicant, json={"action": "approve"})
    assert r.status_code in (403, 404)  # a trader is no reviewer
    r = await users.call("POST", f"{base}/review", admin, json={"action": "approve"})
    assert r.status_code == 409  # must start the review first
    r = await users.call("POST", f"{base}/review", admin, json={"action": "start_review"})
    assert r.json()["state"] == "under_review"
    r = await users.call("POST", f"{base}/review", admin, json={"action": "reject"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "reason"
    r = await users.call("POST", f"{base}/review", admin,
                         json={"action": "reject", "reason": "document expired"})
    assert (r.json()["state"], r.json()["reason"]) == ("rejected", "document expired")
    assert (await upload(users, applicant)).json()["state"] == "submitted"  # try again
    await users.call("POST", f"{base}/review", admin, json={"action": "start_review"})
    r = await users.call("POST", f"{base}/review", admin, json={"action": "approve"})
    assert (r.json()["state"], r.json()["reviewer"]) == ("approved", admin.id)
    assert (await upload(users, applicant)).status_code == 409  # approved is final

    await users.wait_for(lambda: len([e for e in users.published("users.kyc.changed")
                                      if e["user_id"] == applicant.id]) == 6)
    states = [(e["previous"], e["state"]) for e in users.published("users.kyc.changed")
              if e["user_id"] == applicant.id]
    assert states == [("none", "submitted"), ("submitted", "under_review"),
                      ("under_review", "rejected"), ("rejected", "submitted"),
                      ("submitted", "under_review"), ("under_review", "approved")]
    actions = [r[0] for r in await users.sql(
        "SELECT action FROM audit_log WHERE target_type = 'kyc_case' ORDER BY seq")]
    assert actions == ["kyc.submit", "kyc.submit", "kyc.start_review", "kyc.reject",
                       "kyc.submit", "kyc.start_review", "kyc.approve"]


async def test_nobody_reviews_their_own_case(users_sqlite: UsersHarness) -> None:
    admin = await users_sqlite.register()
    assert (await upload(users_sqlite, admin)).status_code == 201
    r = await users_sqlite.call("POST", f"/api/v1/kyc/cases/{admin.id}/review", admin,
                                json={"action": "start_review"})
    assert r.status_code == 403
