"""Sessions and the token pairs issued for them (shared by login, refresh, password flows).

An access token carries the roles and permissions resolved at the moment it is issued;
the refresh token is opaque, stored as a hash, and descends from the session's previous
one, so the family can be followed and revoked as a whole.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.v1.identity import AccessClaims
from argosy.kernel.ids import new_id, new_ulid
from argosy.services.users.domain.rbac import resolve
from argosy.services.users.events import SessionRevoked
from argosy.services.users.models import RefreshTokenRow, SessionRow, UserRow
from argosy.services.users.schemas import SessionOut, TokenOut
from argosy.services.users.service._context import NS, Caller, Client, Deps, iso, new_token
from argosy.services.users.signing import SigningKey

__all__ = ["acting_permissions", "issue_pair", "open_session", "permissions_of", "revoke_all",
           "revoke_session", "session_out"]


async def permissions_of(d: Deps, s: AsyncSession, user: UserRow) -> tuple[list[str], list[str]]:
    """(roles, permissions) as stored now."""
    roles = await d.store.roles_of(s, user.id)
    perms = resolve(roles, await d.store.custom_role_perms(s, user.org_id),
                    platform=d.platform_org(user.org_id))
    return roles, sorted(perms)


async def acting_permissions(d: Deps, s: AsyncSession, c: Caller) -> frozenset[str]:
    """What an admin may act with: `users:admin` required, and only the permissions they
    hold now (stored roles) that their token also carries, never more."""
    c.require("users:admin")
    actor = await d.active_user(s, c)
    _, perms = await permissions_of(d, s, actor)
    return frozenset(perms) & c.principal.permissions


def open_session(d: Deps, s: AsyncSession, user: UserRow, client: Client,
                 device_id: str | None, now: int) -> SessionRow:
    row = SessionRow(
        id=new_id("ses"), user_id=user.id, org_id=user.org_id, device_id=device_id,
        ip=client.ip, user_agent=client.user_agent[:512], created_ns=now, last_used_ns=now,
        expires_ns=now + d.settings.session_max_s * NS,
    )
    s.add(row)
    return row


async def issue_pair(
    d: Deps, s: AsyncSession, user: UserRow, session: SessionRow, key: SigningKey, now: int,
    parent: RefreshTokenRow | None = None,
) -> tuple[TokenOut, RefreshTokenRow]:
    roles, perms = await permissions_of(d, s, user)
    iat = now // NS
    claims = AccessClaims(
        sub=user.id, org=user.org_id, sid=session.id, roles=roles, perms=perms,
        iat=iat, nbf=iat, exp=iat + d.settings.access_ttl_s, jti=new_ulid(),
    )
    plain, digest = new_token("rt")
    row = RefreshTokenRow(
        session_id=session.id, token_hash=digest, parent_id=parent.id if parent else None,
        created_ns=now, expires_ns=min(now + d.settings.refresh_ttl_s * NS, session.expires_ns),
    )
    s.add(row)
    await s.flush()
    pair = TokenOut(access_token=key.sign(claims), refresh_token=plain,
                    expires_in=d.settings.access_ttl_s)
    return pair, row


async def revoke_session(d: Deps, s: AsyncSession, session: SessionRow, reason: str,
                         now: int) -> bool:
    """Revoke one family (False if it already was) and tell the gateway."""
    if session.revoked_ns is not None:
        return False
    session.revoked_ns, session.revoke_reason = now, reason
    await d.store.clear_grace(s, session.id)
    await d.events.publish(s, SessionRevoked(
        at_ms=now // 1_000_000, session_id=session.id, user_id=session.user_id,
        org=session.org_id, reason=reason, exp=now // NS + d.settings.access_ttl_s,
    ))
    return True


async def revoke_all(d: Deps, s: AsyncSession, user_id: str, reason: str, now: int, *,
                     keep: str | None = None) -> int:
    """Revoke every live session of the user but `keep`; returns how many."""
    count = 0
    for session in await d.store.live_sessions(s, user_id, now):
        if session.id != keep:
            count += await revoke_session(d, s, session, reason, now)
    return count


def session_out(r: SessionRow) -> SessionOut:
    return SessionOut(id=r.id, device_id=r.device_id, ip=r.ip, user_agent=r.user_agent,
                      created_at=iso(r.created_ns), last_used_at=iso(r.last_used_ns),
                      expires_at=iso(r.expires_ns))
