"""Email verification, password reset and password change.

Tokens are single-use (consumed with a conditional UPDATE, so two requests cannot both use
one) and stored only as hashes. A reset request answers the same whether or not the email
has an account. A password reset ends every session of the user; a password change every
session but the caller's own.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.errors import Invalid, RateLimited, Unauthorized
from argosy.platform.cache.base import Cache
from argosy.services.users.auditlog import Who
from argosy.services.users.domain.passwords import check_password
from argosy.services.users.domain.profile import normalise_email
from argosy.services.users.events import PasswordResetRequested
from argosy.services.users.models import OneTimeTokenRow, SessionRow, UserRow
from argosy.services.users.schemas import TokenOut
from argosy.services.users.service._context import NS, Caller, Client, Deps, new_token, token_hash
from argosy.services.users.service._onboarding import create_member, request_verification
from argosy.services.users.service._sessions import issue_pair, open_session, revoke_all

__all__ = ["RecoveryService", "reset_token_event"]

_REFUSED = "invalid, used or expired token"


def reset_token_event(d: Deps, user: UserRow, purpose: str,
                      ttl_s: int) -> tuple[OneTimeTokenRow, PasswordResetRequested]:
    now = d.now()
    plain, digest = new_token("pr" if purpose == "reset" else "inv")
    row = OneTimeTokenRow(user_id=user.id, purpose=purpose, token_hash=digest, created_ns=now,
                          expires_ns=now + ttl_s * NS)
    event = PasswordResetRequested(
        at_ms=now // 1_000_000, user_id=user.id, org=user.org_id, email=user.email,
        token=plain, expires_at_ms=row.expires_ns // 1_000_000,
        purpose="reset" if purpose == "reset" else "invite", locale=user.locale,
    )
    return row, event


class RecoveryService:
    def __init__(self, deps: Deps, cache: Cache) -> None:
        self.d, self._cache = deps, cache

    async def verify_email(self, token: str, client: Client) -> None:
        d, now = self.d, self.d.now()
        async with d.db.transaction() as s:
            row = await d.store.one_time(s, token_hash(token), "verify_email")
            if row is None or row.expires_ns <= now or not await d.store.use_one_time(s, row.id,
                                                                                     now):
                raise Invalid(_REFUSED, field="token")
            user = await d.store.user(s, row.user_id, lock=True)
            if user is None:
                raise Invalid(_REFUSED, field="token")
            user.email_verified, user.updated_ns = True, now
            await d.audit.append(s, Who(f"user:{user.id}", user.org_id, client.ip),
                                 "user.email_verified", target_type="user", target_id=user.id)

    async def resend_verification(self, c: Caller) -> None:
        d = self.d
        await self._limit(f"verify-mail:{c.user_id}")
        async with d.db.transaction() as s:
            user = await d.active_user(s, c)
            if user.email_verified:
                return
            await request_verification(d, s, user)

    async def request_reset(self, email: str, client: Client) -> None:
        """Always succeeds from the caller's view; a mail goes out only for real accounts."""
        d = self.d
        try:
            address = normalise_email(email)
        except Invalid:
            return
        await self._limit(f"reset:{token_hash(address)[:32]}")
        async with d.db.transaction() as s:
            user = await d.store.user_by_email(s, address)
            if user is None or user.status != "active":
                return
            row, event = reset_token_event(d, user, "reset", d.settings.reset_token_ttl_s)
            s.add(row)
            await d.events.publish(s, event)
            await d.audit.append(s, Who("anonymous", user.org_id, client.ip),
                                 "password.reset_requested", target_type="user",
                                 target_id=user.id)

    async def confirm_reset(self, token: str, new_password: str, client: Client) -> None:
        """Set a new password from a reset or invitation token; ends every session."""
        d, now = self.d, self.d.now()
        async with d.db.read() as s:
            row = await d.store.one_time(s, token_hash(token), "reset")
            row = row or await d.store.one_time(s, token_hash(token), "invite")
            user = await d.store.user(s, row.user_id) if row else None
        if row is None or user is None or row.used_ns is not None or row.expires_ns <= now:
            raise Invalid(_REFUSED, field="token")
        self._policy(new_password, user.email, "new_password")
        new_hash = await d.passwords.hash(new_password)
        async with d.db.transaction() as s:
            if not await d.store.use_one_time(s, row.id, now):
                raise Invalid(_REFUSED, field="token")
            user = await d.store.user(s, row.user_id, lock=True)
            if user is None or user.status == "disabled":
                raise Invalid(_REFUSED, field="token")
            accepted_invite = user.status == "invited"
            user.password_hash, user.status, user.email_verified = new_hash, "active", True
            user.updated_ns = now
            revoked = await revoke_all(d, s, user.id, "password_reset", now)
            await d.audit.append(s, Who(f"user:{user.id}", user.org_id, client.ip),
                                 "password.reset", target_type="user", target_id=user.id,
                                 detail={"sessions_revoked": revoked,
                                         "invitation": accepted_invite})
            if accepted_invite:
                await create_member(d, s, user)
        await d.throttle.succeeded(user.email)

    async def change_password(self, c: Caller, current: str, new: str) -> TokenOut:
        """Needs the current password; ends every other session of the user.

        The caller's own session (the access token's `sid`, carried by the identity the
        gateway minted) goes on with a fresh pair; its earlier refresh token stops working.
        A caller without a live session of its own (an API key) gets a new session."""
        d = self.d
        async with d.db.read() as s:
            user = await d.active_user(s, c)
        await d.throttle.check(user.email, c.client.ip)
        if not await d.passwords.verify(user.password_hash, current):
            await d.throttle.failed(user.email, c.client.ip)
            raise Unauthorized("the current password is wrong", code="invalid_credentials",
                               field="current_password")
        if new == current:
            raise Invalid("the new password must differ from the current one",
                          field="new_password")
        self._policy(new, user.email, "new_password")
        new_hash = await d.passwords.hash(new)
        key = await d.keys.current()
        now = d.now()
        async with d.db.transaction() as s:
            user = await d.active_user(s, c, lock=True)
            user.password_hash, user.updated_ns = new_hash, now
            session = await self._own_session(s, c, now)
            revoked = await revoke_all(d, s, user.id, "password_changed", now,
                                       keep=session.id if session else None)
            if session is None:
                session = open_session(d, s, user, c.client, None, now)
            else:
                await d.store.clear_grace(s, session.id)
                await d.store.retire_refresh_tokens(s, session.id, now)
                session.last_used_ns = now
            pair, _ = await issue_pair(d, s, user, session, key, now)
            await d.audit.append(s, c.who, "password.changed", target_type="user",
                                 target_id=user.id, detail={"sessions_revoked": revoked,
                                                            "session_kept": session.id})
        return pair

    async def _own_session(self, s: AsyncSession, c: Caller, now: int) -> SessionRow | None:
        sid = c.principal.session
        row = await self.d.store.session(s, sid, c.user_id, lock=True) if sid else None
        if row is None or row.revoked_ns is not None or row.expires_ns <= now:
            return None
        return row

    def _policy(self, password: str, email: str, field: str) -> None:
        st = self.d.settings
        check_password(password, email=email, min_length=st.password_min_length,
                       max_length=st.password_max_length, field=field)

    async def _limit(self, key: str) -> None:
        """At most 5 mails per hour per address: the mail box is not ours to flood."""
        grant = await self._cache.take_tokens(key, rate=5 / 3600, burst=5)
        if not grant.allowed:
            raise RateLimited("too many requests for this address; try later",
                              retry_after=grant.retry_after)
