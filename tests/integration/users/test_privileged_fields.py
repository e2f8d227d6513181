"""Unknown and privileged body fields (user_id, role, organisation, is_admin...) are refused
with a 422 naming the field on every JSON route, generated from the OpenAPI description,
and nothing is applied."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.users._harness import PASSWORD, UsersHarness
from tests.integration.users.test_tenancy_matrix import alice_world, fill, snapshot

pytestmark = pytest.mark.integration

PRIVILEGED = ("user_id", "role", "roles", "organisation", "org", "org_id", "is_admin",
              "permissions", "status", "email_verified", "owner", "admin")

#: a valid body for every JSON route, so the injected field is the only thing wrong
VALID: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/auth/register"): {"email": "new@example.com", "password": PASSWORD},
    ("POST", "/api/v1/auth/login"): {"email": "new@example.com", "password": PASSWORD},
    ("POST", "/api/v1/auth/refresh"): {"refresh_token": "rt_x"},
    ("POST", "/api/v1/auth/logout"): {"refresh_token": "rt_x"},
    ("POST", "/api/v1/auth/verify-email"): {"token": "ev_x"},
    ("POST", "/api/v1/auth/password/reset"): {"email": "new@example.com"},
    ("POST", "/api/v1/auth/password/reset/confirm"): {"token": "pr_x",
                                                      "new_password": PASSWORD + "!"},
    ("POST", "/api/v1/auth/password/change"): {"current_password": PASSWORD,
                                               "new_password": PASSWORD + "!"},
    ("POST", "/api/v1/auth/2fa/confirm"): {"code": "123456"},
    ("POST", "/api/v1/auth/2fa/disable"): {"password": PASSWORD, "code": "123456"},
    ("POST", "/api/v1/auth/2fa/recovery-codes"): {"code": "123456"},
    ("PATCH", "/api/v1/users/me"): {"name": "Alice"},
    ("POST", "/api/v1/accounts"): {"name": "a", "kind": "paper"},
    ("POST", "/api/v1/accounts/{account_id}/credentials"): {"api_key": "KEY-123456",
                                                            "api_secret": "SECRET-1"},
    ("POST", "/api/v1/api-keys"): {"name": "k", "scopes": ["orders:read"]},
    ("POST", "/api/v1/kyc/cases/{user_id}/review"): {"action": "start_review"},
    ("POST", "/api/v1/admin/users"): {"email": "invitee@example.com"},
    ("POST", "/api/v1/admin/users/{user_id}/roles"): {"role": "viewer"},
    ("POST", "/api/v1/admin/roles"): {"name": "desk", "permissions": ["orders:read"]},
    ("PATCH", "/api/v1/admin/roles/{role}"): {"description": "changed"},
}


async def test_privileged_and_unknown_fields_are_rejected_everywhere(
    users: UsersHarness,
) -> None:
    h = users
    alice, ids = await alice_world(h)
    spec = (await h.client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    json_routes = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                json_routes.append((method.upper(), path, set(schemas[ref]["properties"])))
    assert len(json_routes) >= 15
    missing = [(m, p) for m, p, _ in json_routes if (m, p) not in VALID]
    assert not missing, f"add valid bodies for {missing}"
    before = await snapshot(h)
    outbox = await h.sql("SELECT COUNT(*) FROM outbox")
    tried = 0
    for method, path, fields in json_routes:
        for key in [k for k in PRIVILEGED if k not in fields] + ["unexpected_field"]:
            body = {**VALID[(method, path)], key: "x"}
            r = await h.call(method, fill(path, ids), alice, json=body)
            assert r.status_code == 422, (method, path, key, r.text)
            err = r.json()["error"]
            assert (err["code"], err["field"]) == ("invalid", key), (method, path, err)
            tried += 1
    assert tried > 150
    assert await snapshot(h) == before
    assert await h.sql("SELECT COUNT(*) FROM outbox") == outbox
    me = (await h.call("GET", "/api/v1/users/me", alice)).json()
    assert (me["org"], me["roles"], me["name"]) == (alice.org, ["admin"], "")
