"""`argosy users ...`: operate the users service's own database directly.

These commands use the same settings as the service (ARGOSY_DB_URL or ARGOSY_USERS_DB_URL,
ARGOSY_DATA_DIR, ARGOSY_USERS_VAULT_KEY_FILE), so they run beside a live service or with it
stopped; nothing here goes over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console

from argosy.kernel.clock import LiveClock
from argosy.platform.db.engine import Database
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services import users as users_package
from argosy.services.users.app import audit_anchor_key, open_vault
from argosy.services.users.auditlog import AuditLog, Who
from argosy.services.users.settings import UsersSettings
from argosy.services.users.signing import SigningKeys
from argosy.services.users.vault_rotation import rotate_vault_key

__all__ = ["app"]

app = typer.Typer(help="Operate the users service: vault key, signing key, audit log.",
                  no_args_is_help=True)
console = Console()
_MIGRATIONS = Path(users_package.__file__).parent / "migrations"

_T = TypeVar("_T")


def _run(work: Callable[[Database, PlatformSettings, UsersSettings], Awaitable[_T]]) -> _T:
    platform = load_settings(PlatformSettings)
    users = load_settings(UsersSettings)

    async def main() -> _T:
        db = Database(users.db_url or platform.db_url, service="users",
                      data_dir=platform.data_path, schema_prefix=platform.db_schema_prefix)
        await db.connect(_MIGRATIONS)
        try:
            return await work(db, platform, users)
        finally:
            await db.close()

    return asyncio.run(main())


def _anchor(users: UsersSettings, platform: PlatformSettings) -> bytes:
    """The head-anchor key the running service uses, so CLI rows are signed alike and
    verify-audit checks the anchor's signature, not only its position."""
    return audit_anchor_key(users, platform.data_path)


@app.command("rotate-vault-key")
def rotate_vault_key_cmd() -> None:
    """New vault master key; every stored secret's data key re-wrapped in one transaction."""

    async def work(db: Database, platform: PlatformSettings, users: UsersSettings) -> None:
        vault = open_vault(users, platform.data_path)
        report = await rotate_vault_key(db, vault.key_file)
        async with db.transaction() as s:
            await AuditLog(db, LiveClock(), _anchor(users, platform)).append(
                s, Who("operator:cli"), "vault.key_rotated",
                detail={"old": report.old_kek, "new": report.new_kek,
                        "rewrapped": report.rewrapped, "resumed": report.resumed})
        what = "resumed an interrupted rotation" if report.resumed else "rotated"
        console.print(f"vault master key {what}: {report.old_kek} -> {report.new_kek}")
        for table, count in sorted(report.rewrapped.items()):
            console.print(f"  {table}: {count} re-wrapped")
        console.print(f"  total: {report.total}")
        if report.left_under_old_key:
            console.print(f"{report.left_under_old_key} values are still under the old key; "
                          f"kept {vault.key_file}.old; run the command again", style="yellow")
            raise typer.Exit(1)

    _run(work)


@app.command("rotate-signing-key")
def rotate_signing_key_cmd() -> None:
    """New access-token signing key; the old one stays in the JWKS until its tokens expire."""

    async def work(db: Database, platform: PlatformSettings, users: UsersSettings) -> None:
        clock = LiveClock()
        keys = SigningKeys(db, open_vault(users, platform.data_path), clock,
                           access_ttl_s=users.access_ttl_s, cache_s=users.key_cache_s)
        async with db.transaction() as s:
            new, old = await keys.rotate(s)
            await AuditLog(db, clock, _anchor(users, platform)).append(
                s, Who("operator:cli"), "signing_key.rotated", target_type="signing_key",
                target_id=new, detail={"previous": old})
        console.print(f"signing key rotated: {old} -> {new}")

    _run(work)


@app.command("verify-audit")
def verify_audit_cmd() -> None:
    """Check the audit log's hash chain; exit 1 naming the first row that does not match."""

    async def work(db: Database, platform: PlatformSettings, users: UsersSettings) -> None:
        checked, brk = await AuditLog(db, LiveClock(), _anchor(users, platform)).verify()
        if brk is not None:
            console.print(f"audit log BROKEN at row id={brk.id} seq={brk.seq}: {brk.reason} "
                          f"({checked} rows checked)", style="red")
            raise typer.Exit(1)
        console.print(f"audit log intact: {checked} rows")

    _run(work)
