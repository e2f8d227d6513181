"""Registration, login, token refresh and logout.

Slow or external work (Argon2, the signing key) happens before the transaction opens, so a
transaction only ever waits for the database. Failures that must leave a trace (a wrong
password, a reused refresh token) are recorded in a transaction of their own and the error
is raised after it committed.
"""

from __future__ import annotations

import hashlib
import json

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.errors import ArgosyError, Invalid, Unauthorized
from argosy.kernel.ids import new_id
from argosy.platform.cache.base import Cache
from argosy.services.users import totp
from argosy.services.users.auditlog import Who
from argosy.services.users.domain.passwords import check_password
from argosy.services.users.domain.profile import check_locale, check_timezone, normalise_email
from argosy.services.users.domain.refresh import Outcome, TokenView, decide
from argosy.services.users.events import NewDeviceLogin, RegistrationRepeated
from argosy.services.users.models import DeviceRow, RefreshTokenRow, SessionRow, UserRow
from argosy.services.users.schemas import LoginIn, RegisterIn, RegisterOut, TokenOut
from argosy.services.users.service._context import NS, Client, Deps, token_hash
from argosy.services.users.service._onboarding import create_member, create_tenant
from argosy.services.users.service._sessions import issue_pair, open_session, revoke_session
from argosy.services.users.signing import SigningKey

__all__ = ["AuthService"]

log = structlog.get_logger("argosy.users.auth")


class AuthService:
    def __init__(self, deps: Deps, cache: Cache) -> None:
        self.d, self._cache = deps, cache

    # -- registration --------------------------------------------------------------------
    async def register(self, req: RegisterIn, client: Client) -> RegisterOut:
        """A new tenant for a new address. An address that already has an account gets
        the same answer (made-up ids, no account created), and its owner an event: the
        answer must not tell anyone which addresses are registered here."""
        d = self.d
        email = normalise_email(req.email)
        check_password(req.password, email=email, min_length=d.settings.password_min_length,
                       max_length=d.settings.password_max_length)
        locale = check_locale(req.locale) if req.locale else "en"
        tz = check_timezone(req.timezone) if req.timezone else "UTC"
        password_hash = await d.passwords.hash(req.password)  # both ways: the same time
        try:
            async with d.db.transaction() as s:
                if req.invite_token is not None:
                    return await self._accept_invite(s, req, email, password_hash, locale, tz,
                                                     client)
                existing = await d.store.user_by_email(s, email)
                if existing is None:
                    user, account_id = await create_tenant(
                        d, s, email=email, password_hash=password_hash, name=req.name,
                        locale=locale, timezone=tz, client=client,
                    )
        except IntegrityError:  # a concurrent registration of this address committed first
            async with d.db.read() as s:
                existing = await d.store.user_by_email(s, email)
            if existing is None:
                raise
        if existing is not None:
            await self._registered_again(existing, client)
            return RegisterOut(user_id=new_id("usr"), org=new_id("org"), email=email,
                               email_verified=False, account_id=new_id("acc"))
        log.info("users.registered", user_id=user.id, org=user.org_id)
        return RegisterOut(user_id=user.id, org=user.org_id, email=email, email_verified=False,
                           account_id=account_id)

    async def _registered_again(self, user: UserRow, client: Client) -> None:
        """Tell the owner (at most a few mails an hour: registering is no way to flood
        someone's inbox) and audit it in their organisation."""
        d, now = self.d, self.d.now()
        try:
            grant = await self._cache.take_tokens(f"registered-again:{user.id}",
                                                  rate=3 / 3600, burst=3)
            notify = grant.allowed
        except ArgosyError:  # the cache is down: audit anyway, answer as for a new address
            notify = False
        async with d.db.transaction() as s:
            if notify:
                await d.events.publish(s, RegistrationRepeated(
                    at_ms=now // 1_000_000, user_id=user.id, org=user.org_id, email=user.email,
                    ip=client.ip, locale=user.locale,
                ))
            await d.audit.append(s, Who("anonymous", user.org_id, client.ip),
                                 "user.registration_repeated", target_type="user",
                                 target_id=user.id, detail={"notified": notify})
        log.info("users.registration_repeated", user_id=user.id, ip=client.ip)

    async def _accept_invite(self, s: AsyncSession, req: RegisterIn, email: str,
                             password_hash: str, locale: str, tz: str,
                             client: Client) -> RegisterOut:
        d, now = self.d, self.d.now()
        tok = await d.store.one_time(s, token_hash(req.invite_token or ""), "invite")
        user = await d.store.user(s, tok.user_id, lock=True) if tok else None
        if (tok is None or user is None or tok.used_ns is not None or tok.expires_ns <= now
                or user.email != email or user.status != "invited"):
            raise Invalid("invalid or expired invitation for this email", field="invite_token")
        await d.store.use_one_time(s, tok.id, now)
        user.password_hash, user.status, user.email_verified = password_hash, "active", True
        user.name, user.locale, user.timezone = req.name or user.name, locale, tz
        user.updated_ns = now
        account_id = await create_member(d, s, user)
        await d.audit.append(s, Who(f"user:{user.id}", user.org_id, client.ip),
                             "user.invitation_accepted", target_type="user", target_id=user.id)
        return RegisterOut(user_id=user.id, org=user.org_id, email=email, email_verified=True,
                           account_id=account_id)

    # -- login ---------------------------------------------------------------------------
    async def login(self, req: LoginIn, client: Client) -> TokenOut:
        d = self.d
        email = normalise_email(req.email)
        await d.throttle.check(email, client.ip)
        async with d.db.read() as s:
            user = await d.store.user_by_email(s, email)
        stored = user.password_hash if user is not None else None
        if user is None or not await d.passwords.verify(stored, req.password):
            await self._failed(email, client, user, "wrong_password")
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        if user.status != "active":
            await self._failed(email, client, user, "disabled")
            raise Unauthorized("this account is disabled", code="account_disabled")
        if d.settings.require_verified_email and not user.email_verified:
            raise Unauthorized("verify your email address first", code="email_not_verified")
        second: tuple[str, int | str] | None = None
        if user.totp_enabled:
            if not req.totp:
                raise Unauthorized("a two-factor code is required", code="totp_required",
                                   field="totp")
            second = self._second_factor(user, req.totp)
            if second is None:
                await self._failed(email, client, user, "wrong_totp")
                raise Unauthorized("wrong two-factor code", code="invalid_totp", field="totp")
        rehash = None
        if stored is not None and d.passwords.needs_rehash(stored):
            rehash = await d.passwords.hash(req.password)
        key = await d.keys.current()
        try:
            pair = await self._open(user.id, client, second, rehash, key)
        except _SecondFactorReplayed:
            await self._failed(email, client, user, "replayed_totp")
            raise Unauthorized("that code was already used", code="invalid_totp",
                               field="totp") from None
        await d.throttle.succeeded(email)
        return pair

    def _second_factor(self, user: UserRow, code: str) -> tuple[str, int | str] | None:
        """("totp", step) or ("recovery", hash) for a code that verifies, else None."""
        if user.totp_sealed is None:
            return None
        secret = self.d.unseal(user.totp_sealed, f"totp:{user.id}").decode()
        step = totp.matching_step(secret, code, self.d.now() / NS, user.totp_last_step)
        if step is not None:
            return ("totp", step)
        if len(code.replace("-", "").replace(" ", "")) == 16:
            return ("recovery", totp.hash_recovery_code(code))
        return None

    async def _open(self, user_id: str, client: Client, second: tuple[str, int | str] | None,
                    rehash: str | None, key: SigningKey) -> TokenOut:
        d, now = self.d, self.d.now()
        async with d.db.transaction() as s:
            user = await d.store.user(s, user_id, lock=True)
            if user is None or user.status != "active":
                raise Unauthorized("this account is disabled", code="account_disabled")
            if second is not None and not await self._consume(s, user, second, now):
                raise _SecondFactorReplayed
            if rehash is not None:
                user.password_hash, user.updated_ns = rehash, now
            device, new_device = await self._device(s, user, client, now)
            session = open_session(d, s, user, client, device.id, now)
            pair, _ = await issue_pair(d, s, user, session, key, now)
            if new_device:
                await d.events.publish(s, NewDeviceLogin(
                    at_ms=now // 1_000_000, user_id=user.id, org=user.org_id, email=user.email,
                    device_id=device.id, ip=client.ip, user_agent=client.user_agent[:512],
                ))
            await d.audit.append(
                s, Who(f"user:{user.id}", user.org_id, client.ip), "login.succeeded",
                target_type="session", target_id=session.id,
                detail={"device_id": device.id, "new_device": new_device,
                        "rehashed": rehash is not None,
                        "second_factor": second[0] if second else None},
            )
        return pair

    async def _consume(self, s: AsyncSession, user: UserRow, second: tuple[str, int | str],
                       now: int) -> bool:
        kind, value = second
        if kind == "totp":
            return await self.d.store.set_totp_step(s, user.id, int(value))
        return await self.d.store.use_recovery_code(s, user.id, str(value), now)

    async def _device(self, s: AsyncSession, user: UserRow, client: Client,
                      now: int) -> tuple[DeviceRow, bool]:
        """The device this login comes from; True when it is new and not the first one."""
        fingerprint = hashlib.sha256(f"{user.id}|{client.user_agent}".encode()).hexdigest()
        device = await self.d.store.device(s, user.id, fingerprint=fingerprint)
        if device is not None:
            device.last_seen_ns, device.last_ip = now, client.ip
            return device, False
        first = not await self.d.store.has_devices(s, user.id)
        device = DeviceRow(id=new_id("dev"), user_id=user.id, org_id=user.org_id,
                           fingerprint=fingerprint, user_agent=client.user_agent[:512],
                           first_seen_ns=now, last_seen_ns=now, last_ip=client.ip)
        s.add(device)
        return device, not first

    async def _failed(self, email: str, client: Client, user: UserRow | None,
                      reason: str) -> None:
        await self.d.throttle.failed(email, client.ip)
        async with self.d.db.transaction() as s:
            await self.d.audit.append(
                s, Who("anonymous", user.org_id if user else None, client.ip), "login.failed",
                target_type="user" if user else None, target_id=user.id if user else None,
                detail={"reason": reason},
            )
        log.info("users.login_failed", reason=reason, ip=client.ip)

    # -- refresh and logout --------------------------------------------------------------
    async def refresh(self, refresh_token: str, client: Client) -> TokenOut:
        d = self.d
        key = await d.keys.current()
        digest = token_hash(refresh_token)
        async with d.db.read() as s:
            found = await d.store.refresh_token(s, digest)
        if found is None:
            raise Unauthorized("unknown refresh token", code="invalid_refresh_token")
        async with d.db.transaction() as s:
            session = await d.store.session(s, found.session_id, lock=True)
            token = await d.store.refresh_token(s, digest, lock=True)
            assert session is not None
            assert token is not None
            outcome, pair = await self._refresh_locked(s, session, token, key, client)
        if pair is not None:
            return pair
        if outcome is Outcome.REUSE_DETECTED:
            raise Unauthorized("refresh token reused: every session of this login was revoked",
                               code="refresh_reused")
        if outcome is Outcome.EXPIRED:
            raise Unauthorized("session expired: log in again", code="session_expired")
        raise Unauthorized("session revoked: log in again", code="session_revoked")

    async def _refresh_locked(self, s: AsyncSession, session: SessionRow, token: RefreshTokenRow,
                              key: SigningKey, client: Client) -> tuple[Outcome, TokenOut | None]:
        d, now = self.d, self.d.now()
        child = await d.store.refresh_by_id(s, token.child_id) if token.child_id else None
        outcome = decide(TokenView(
            expires_ns=token.expires_ns, session_expires_ns=session.expires_ns,
            session_revoked=session.revoked_ns is not None, rotated_ns=token.rotated_ns,
            child_is_head=child is not None and child.rotated_ns is None,
            has_grace_pair=token.grace_sealed is not None,
        ), now, int(d.settings.refresh_grace_s * NS))
        who = Who(f"user:{session.user_id}", session.org_id, client.ip)
        if outcome is Outcome.REPLAY_GRACE:
            assert token.grace_sealed is not None
            raw = d.unseal(token.grace_sealed, f"grace:{token.id}")
            return outcome, TokenOut.model_validate(json.loads(raw))
        if outcome is Outcome.REUSE_DETECTED:
            await revoke_session(d, s, session, "refresh_reuse", now)
            await d.audit.append(s, who, "session.refresh_reuse_detected",
                                 target_type="session", target_id=session.id)
            log.warning("users.refresh_reuse", session_id=session.id, ip=client.ip)
            return outcome, None
        if outcome is not Outcome.ROTATE:
            return outcome, None
        user = await d.store.user(s, session.user_id)
        if user is None or user.status != "active":
            await revoke_session(d, s, session, "user_disabled", now)
            return Outcome.REVOKED, None
        pair, row = await issue_pair(d, s, user, session, key, now, parent=token)
        await d.store.clear_grace(s, session.id)
        token.rotated_ns, token.child_id = now, row.id
        token.grace_sealed = d.vault.seal(pair.model_dump_json().encode(), f"grace:{token.id}")
        session.last_used_ns = now
        return outcome, pair

    async def logout(self, refresh_token: str, client: Client) -> None:
        """Revoke the whole family of `refresh_token`; unknown tokens are a silent no-op."""
        d, now = self.d, self.d.now()
        async with d.db.transaction() as s:
            token = await d.store.refresh_token(s, token_hash(refresh_token))
            session = await d.store.session(s, token.session_id, lock=True) if token else None
            if session is None or not await revoke_session(d, s, session, "logout", now):
                return
            await d.audit.append(s, Who(f"user:{session.user_id}", session.org_id, client.ip),
                                 "session.logout", target_type="session", target_id=session.id)


class _SecondFactorReplayed(Exception):
    """The TOTP step or recovery code was consumed by a concurrent login."""
