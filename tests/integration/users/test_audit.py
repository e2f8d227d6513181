"""The security audit log: per-tenant queries, exports, and the hash chain that names the
first edited row, through the API-free verifier and the `argosy users verify-audit` CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
from typer.testing import CliRunner

from argosy.cli.users_cmd import app as users_cli
from argosy.platform.secrets import read_secret
from argosy.services.users.auditlog import AuditLog
from tests.integration.users._harness import UsersHarness

pytestmark = pytest.mark.integration


def cli_env(h: UsersHarness) -> dict[str, str]:
    p = h.runtime.platform
    return {"ARGOSY_DATA_DIR": str(p.data_dir), "ARGOSY_DB_URL": p.db_url,
            "ARGOSY_DB_SCHEMA_PREFIX": p.db_schema_prefix}


async def cli(h: UsersHarness, *args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, users_cli, list(args), env=cli_env(h))
    return result.exit_code, result.output


async def test_auditors_query_their_own_tenant_only(users: UsersHarness) -> None:
    alice = await users.register()
    auditor = await users.invite(alice, roles=["auditor"])
    viewer = await users.invite(alice, roles=["viewer"])
    bob = await users.register()
    r = await users.call("GET", "/api/v1/audit", auditor)
    assert r.status_code == 200
    items = r.json()["items"]
    assert items
    assert {i["seq"] for i in items} == {
        row[0] for row in await users.sql("SELECT seq FROM audit_log WHERE org_id = :o",
                                          o=alice.org)}
    assert all(bob.id not in json.dumps(i) for i in items)
    assert (await users.call("GET", "/api/v1/audit", viewer)).status_code == 403
    r = await users.call("GET", "/api/v1/audit?action=user.invited&limit=1", auditor)
    page = r.json()
    assert [i["action"] for i in page["items"]] == ["user.invited"]
    nxt = await users.call("GET", f"/api/v1/audit?action=user.invited&limit=1"
                                  f"&before={page['next_before']}", auditor)
    assert [i["action"] for i in nxt.json()["items"]] == ["user.invited"]
    assert nxt.json()["items"][0]["seq"] < page["items"][0]["seq"]
    r = await users.call("GET", "/api/v1/audit?since=yesterday", auditor)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "since"


async def test_exports_stream_csv_and_jsonl_and_are_themselves_audited(
    users: UsersHarness,
) -> None:
    alice = await users.register()
    r = await users.call("GET", "/api/v1/audit/export?format=jsonl", alice)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines[0]["action"] == "audit.exported"
    assert {"user.registered", "login.succeeded"} <= {x["action"] for x in lines}
    r = await users.call("GET", "/api/v1/audit/export?format=csv&action=user.registered", alice)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["action"] for x in rows] == ["user.registered"]
    assert json.loads(rows[0]["detail"])["org_created"] is True
    r = await users.call("GET", "/api/v1/audit/export?format=xml", alice)
    assert r.status_code == 422


async def test_an_edited_row_is_named_by_verify_and_the_cli(users: UsersHarness) -> None:
    alice = await users.register()
    await users.login(alice)
    await users.register()
    code, out = await cli(users, "verify-audit")
    assert code == 0, out
    total = (await users.sql("SELECT COUNT(*) FROM audit_log"))[0][0]
    assert f"intact: {total} rows" in out
    row_id, seq = (await users.sql(
        "SELECT id, seq FROM audit_log WHERE action = 'login.succeeded' ORDER BY seq"))[0]
    await users.sql("UPDATE audit_log SET actor = 'user:someone-else' WHERE id = :i", i=row_id)
    checked, brk = await users.runtime_audit().verify()
    assert brk is not None
    assert (brk.id, brk.seq) == (row_id, seq)
    assert checked == seq
    code, out = await cli(users, "verify-audit")
    assert code == 1
    assert f"id={row_id} seq={seq}" in out


async def test_a_deleted_row_is_found_too(users_sqlite: UsersHarness) -> None:
    h = users_sqlite
    await h.register()
    await h.register()
    await h.sql("DELETE FROM audit_log WHERE seq = 2")
    code, out = await cli(h, "verify-audit")
    assert code == 1
    assert "seq=3" in out
    assert "gap" in out


def keyed_audit(h: UsersHarness) -> AuditLog:
    """The verifier as the service holds it: with the anchor key from the data dir."""
    assert h.runtime.db is not None
    key = read_secret(h.runtime.platform.data_dir / "secrets" / "users-audit.key")
    return AuditLog(h.runtime.db, h.clock, key)


async def test_removing_the_newest_rows_is_found(users: UsersHarness) -> None:
    """What the chain alone misses: the rows left still link, the anchor does not."""
    await users.register()
    await users.register()
    assert await keyed_audit(users).verify() == (
        (await users.sql("SELECT COUNT(*) FROM audit_log"))[0][0], None)
    last = (await users.sql("SELECT MAX(seq) FROM audit_log"))[0][0]
    await users.sql("DELETE FROM audit_log WHERE seq >= :s", s=last - 1)
    code, out = await cli(users, "verify-audit")
    assert code == 1, out
    assert f"seq={last - 1}: rows {last - 1}..{last} were removed" in " ".join(out.split())
    checked, brk = await keyed_audit(users).verify()
    assert brk is not None
    assert checked == last - 2


async def test_an_anchor_moved_by_an_intruder_fails_its_signature(
    users_sqlite: UsersHarness,
) -> None:
    h = users_sqlite
    await h.register()
    await h.register()
    head = (await h.sql("SELECT seq, mac FROM audit_head"))[0]
    assert head[1] is not None  # the service signs what it appends
    last = head[0]
    await h.sql("DELETE FROM audit_log WHERE seq = :s", s=last)
    await h.sql("UPDATE audit_head SET seq = seq - 1, hash = (SELECT hash FROM audit_log "
                "WHERE seq = :s)", s=last - 1)  # the intruder tidies up behind them
    _, brk = await keyed_audit(h).verify()
    assert brk is not None
    assert brk.reason == "the head anchor's signature does not verify"
    # the service's next append notices before it signs a new head, and says so in the
    # chain itself: the evidence outlives the anchor it replaces
    await h.register()
    assert (await keyed_audit(h).verify())[1] is None
    [(detail,)] = await h.sql("SELECT detail FROM audit_log WHERE action = "
                              "'audit.anchor_mismatch'")
    assert json.loads(detail) == {"problem": "the head anchor's signature does not verify"}


async def test_rows_cut_off_are_recorded_by_the_next_append(users: UsersHarness) -> None:
    await users.register()
    last = (await users.sql("SELECT MAX(seq) FROM audit_log"))[0][0]
    await users.sql("DELETE FROM audit_log WHERE seq = :s", s=last)
    await users.register()
    rows = await users.sql("SELECT seq, actor, detail FROM audit_log WHERE action = "
                           "'audit.anchor_mismatch'")
    assert len(rows) == 1
    seq, actor, detail = rows[0]
    assert (seq, actor) == (last, "service:users")  # linked where the cut row was
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    assert detail == {"problem": f"the head anchor is at seq {last}, the log ends at seq "
                                 f"{last - 1}"}
    assert (await keyed_audit(users).verify())[1] is None
