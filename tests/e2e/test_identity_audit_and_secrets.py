"""Issue #4, what must never leak and what must never change unnoticed, against the
running platform: exchange secrets in logs, answers and the database file, the
internal credential route behind the gateway, and the audit log's hash chain checked by
`argosy users verify-audit` after the users database was edited behind its back."""

from __future__ import annotations

import http.client
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from argosy.contracts import headers as h
from tests.integration.gateway._live import Live, User, live_platform, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


def _raw_get(live: Live, target: str, headers: dict[str, str]) -> tuple[int, str]:
    """A request line sent exactly as written (httpx would normalise `..` away)."""
    conn = http.client.HTTPConnection("127.0.0.1", int(live.gateway.rsplit(":", 1)[1]),
                                      timeout=10)
    try:
        conn.request("GET", target, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def _exchange_account(live: Live, user: User) -> str:
    r = live.call("POST", "/api/v1/accounts", headers=user.auth,
                  json={"name": "Binance main", "kind": "exchange", "venue": "binance"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_exchange_secrets_reach_no_log_line_no_answer_and_no_plain_column(
    live: Live,
) -> None:
    user = live.register("127.0.0.61")
    account = _exchange_account(live, user)
    tag = uuid.uuid4().hex
    secret, passphrase, api_key = f"SeCrEt{tag}", f"PaSs{tag}", f"AKE2E{tag[:20]}"
    answers: list[httpx.Response] = []
    texts: list[str] = []

    def call(method: str, path: str, **kw: Any) -> httpx.Response:
        r = live.call(method, path, headers=user.auth, **kw)
        answers.append(r)
        return r

    creds = f"/api/v1/accounts/{account}/credentials"
    body = {"api_key": api_key, "api_secret": secret, "passphrase": passphrase}
    stored = call("POST", creds, json=body)
    assert stored.status_code == 200, stored.text
    assert stored.json()["api_key_masked"] not in (api_key, "")
    assert call("POST", creds, json={**body, "api_secret": secret * 200}).status_code == 422
    assert call("POST", creds, json={**body, "note": secret}).status_code == 422
    assert call("POST", creds, json={**body, "api_secret": f"{secret}-rotated"}
                ).status_code == 200
    for path in (creds, f"/api/v1/accounts/{account}", "/api/v1/accounts", "/api/v1/users/me",
                 "/api/v1/audit", "/api/v1/audit/export?format=jsonl",
                 "/api/v1/audit/export?format=csv"):
        assert call("GET", path).status_code == 200, path
    # the one way out: the trading service, on the users service's internal route...
    trading = live.proc.token(frozenset(), subject="service:trading")
    reveal = httpx.get(f"{live.proc.url('users')}/internal/v1/credentials/{account}",
                       headers={h.IDENTITY: trading}, timeout=10)
    assert (reveal.status_code, reveal.json()["api_secret"]) == (200, f"{secret}-rotated")
    # ...which no client reaches through the gateway, whatever its credentials
    for path in (f"/internal/v1/credentials/{account}",
                 f"/api/v1/accounts/../../internal/v1/credentials/{account}",
                 f"/api/v1/accounts/%2e%2e/%2e%2e/internal/v1/credentials/{account}",
                 f"/api/v1/accounts/..%2F..%2Finternal%2Fv1%2Fcredentials%2F{account}",
                 f"/api/v1/accounts%2F..%2F..%2Finternal%2Fv1%2Fcredentials%2F{account}"):
        status, text = _raw_get(live, path, {**user.auth, h.IDENTITY: trading})
        assert status == 404, (path, text)
        texts.append(text)
    texts.extend(r.text + str(r.headers) for r in answers)
    for text in texts:
        for value in (secret, passphrase, api_key):
            assert value not in text
    wait_until(lambda: account in live.proc.service_log("users"))
    logs = {**live.logs(), "supervisor": live.proc.output.read_text(errors="replace")}
    for name, text in logs.items():
        for value in (secret, passphrase, api_key):
            assert value not in text, f"{value} in {name}"
    database = b"".join(p.read_bytes() for p in (live.data_dir / "db").glob("users.sqlite3*"))
    for value in (secret, passphrase, api_key):
        assert value.encode() not in database  # sealed by the vault, never in clear


def _verify_audit(live: Live) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "argosy", "users", "verify-audit"],
                          env=live.proc.env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def registered_row(live: Live) -> Iterator[tuple[int, int, str]]:
    """(id, seq, ip) of a fresh `user.registered` audit row; restored after the test."""
    user = live.register("127.0.0.62")
    with live.users_db() as db:
        row = db.execute("SELECT id, seq, ip FROM audit_log WHERE action = 'user.registered' "
                         "AND target_id = ?", (user.user_id,)).fetchone()
    assert row is not None
    yield row
    with live.users_db() as db:
        db.execute("UPDATE audit_log SET ip = ? WHERE id = ?", (row[2], row[0]))


def test_verify_audit_names_the_row_edited_in_the_database(
    live: Live, registered_row: tuple[int, int, str],
) -> None:
    row_id, seq, ip = registered_row
    intact = _verify_audit(live)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "audit log intact" in intact.stdout
    with live.users_db() as db:  # what an intruder with the database file would do
        db.execute("UPDATE audit_log SET ip = '10.9.9.9' WHERE id = ?", (row_id,))
    broken = _verify_audit(live)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"BROKEN at row id={row_id} seq={seq}: content does not match its hash" in (
        " ".join(broken.stdout.split()))
    with live.users_db() as db:
        db.execute("UPDATE audit_log SET ip = ? WHERE id = ?", (ip, row_id))
    again = _verify_audit(live)
    assert again.returncode == 0, again.stdout + again.stderr


def test_verify_audit_finds_the_newest_rows_removed(live: Live) -> None:
    """What a chain alone cannot see: cut off at its end, it still links. The service's
    signed head anchor can."""
    live.register("127.0.0.63")
    with live.users_db() as db:
        db.row_factory = sqlite3.Row
        cut = [dict(r) for r in db.execute(
            "SELECT * FROM audit_log ORDER BY seq DESC LIMIT 2").fetchall()]
        first = cut[-1]["seq"]
        db.execute("DELETE FROM audit_log WHERE seq >= ?", (first,))
    try:
        broken = _verify_audit(live)
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert f"seq={first}: rows {first}..{first + 1} were removed" in (
            " ".join(broken.stdout.split()))
    finally:
        with live.users_db() as db:  # put them back, as they were
            for row in reversed(cut):
                names = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                db.execute(f"INSERT INTO audit_log ({names}) VALUES ({marks})",  # noqa: S608
                           tuple(row.values()))
    again = _verify_audit(live)
    assert again.returncode == 0, again.stdout + again.stderr


def test_verify_audit_refuses_a_forged_head_anchor(live: Live) -> None:
    """An intruder who cuts the newest rows and moves the anchor to the new end cannot
    sign it: the key lives in the data dir, not in the database, and the CLI holds it."""
    live.register("127.0.0.64")
    with live.users_db() as db:
        db.row_factory = sqlite3.Row
        cut = [dict(r) for r in db.execute(
            "SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1").fetchall()]
        head = dict(db.execute("SELECT * FROM audit_head WHERE id = 1").fetchone())
        db.execute("DELETE FROM audit_log WHERE seq = ?", (cut[0]["seq"],))
        new_end = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
                             ).fetchone()
        db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", tuple(new_end))
    try:
        broken = _verify_audit(live)
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "the head anchor's signature does not verify" in " ".join(broken.stdout.split())
    finally:
        with live.users_db() as db:
            row = cut[0]
            db.execute(f"INSERT INTO audit_log ({', '.join(row)}) "  # noqa: S608
                       f"VALUES ({', '.join('?' for _ in row)})", tuple(row.values()))
            db.execute("UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1",
                       (head["seq"], head["hash"], head["mac"]))
    again = _verify_audit(live)
    assert again.returncode == 0, again.stdout + again.stderr
