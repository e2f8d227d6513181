"""TOTP two-factor: enrol (pending until a code proves the authenticator has the secret),
confirm (issues ten single-use recovery codes, shown once), and disable (password and a
code, so a stolen session alone cannot remove the second factor)."""

from __future__ import annotations

from argosy.kernel.errors import Conflict, Invalid, Unauthorized
from argosy.services.users import totp
from argosy.services.users.schemas import RecoveryCodesOut, TotpEnrolOut
from argosy.services.users.service._context import NS, Caller, Deps

__all__ = ["TwoFactorService"]


class TwoFactorService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    async def enrol(self, c: Caller) -> TotpEnrolOut:
        d, now = self.d, self.d.now()
        secret = totp.new_secret()
        async with d.db.transaction() as s:
            user = await d.active_user(s, c, lock=True)
            if user.totp_enabled:
                raise Conflict("two-factor authentication is already on; disable it first")
            user.totp_sealed = d.vault.seal(secret.encode(), f"totp:{user.id}")
            user.totp_last_step, user.updated_ns = None, now
            await d.audit.append(s, c.who, "2fa.enrol_started", target_type="user",
                                 target_id=user.id)
        return TotpEnrolOut(secret=secret, otpauth_uri=totp.provisioning_uri(
            secret, user.email, d.settings.totp_issuer))

    async def confirm(self, c: Caller, code: str) -> RecoveryCodesOut:
        d, now = self.d, self.d.now()
        codes = totp.new_recovery_codes()
        async with d.db.transaction() as s:
            user = await d.active_user(s, c, lock=True)
            if user.totp_enabled:
                raise Conflict("two-factor authentication is already on")
            if user.totp_sealed is None:
                raise Conflict("start with POST /api/v1/auth/2fa/enrol")
            secret = d.unseal(user.totp_sealed, f"totp:{user.id}").decode()
            step = totp.matching_step(secret, code, now / NS, None)
            if step is None:
                raise Invalid("wrong code; check the authenticator's clock", field="code")
            user.totp_enabled, user.totp_last_step, user.updated_ns = True, step, now
            await d.store.replace_recovery_codes(s, user.id,
                                                 [totp.hash_recovery_code(x) for x in codes])
            await d.audit.append(s, c.who, "2fa.enabled", target_type="user", target_id=user.id)
        return RecoveryCodesOut(recovery_codes=codes)

    async def disable(self, c: Caller, password: str, code: str) -> None:
        d, now = self.d, self.d.now()
        async with d.db.read() as s:
            user = await d.active_user(s, c)
        await d.throttle.check(user.email, c.client.ip)
        if not user.totp_enabled or user.totp_sealed is None:
            raise Conflict("two-factor authentication is not on")
        if not await d.passwords.verify(user.password_hash, password):
            await d.throttle.failed(user.email, c.client.ip)
            raise Unauthorized("wrong password", code="invalid_credentials", field="password")
        secret = d.unseal(user.totp_sealed, f"totp:{user.id}").decode()
        async with d.db.transaction() as s:
            user = await d.active_user(s, c, lock=True)
            step = totp.matching_step(secret, code, now / NS, user.totp_last_step)
            ok = (await d.store.set_totp_step(s, user.id, step) if step is not None else
                  await d.store.use_recovery_code(s, user.id, totp.hash_recovery_code(code), now))
            if not ok:
                raise Invalid("wrong or already used code", field="code")
            user.totp_enabled, user.totp_sealed, user.totp_last_step = False, None, None
            user.updated_ns = now
            await d.store.replace_recovery_codes(s, user.id, [])
            await d.audit.append(s, c.who, "2fa.disabled", target_type="user",
                                 target_id=user.id)

    async def regenerate_codes(self, c: Caller, code: str) -> RecoveryCodesOut:
        """New recovery codes (the old ones stop working); needs a current TOTP code."""
        d, now = self.d, self.d.now()
        codes = totp.new_recovery_codes()
        async with d.db.transaction() as s:
            user = await d.active_user(s, c, lock=True)
            if not user.totp_enabled or user.totp_sealed is None:
                raise Conflict("two-factor authentication is not on")
            secret = d.unseal(user.totp_sealed, f"totp:{user.id}").decode()
            step = totp.matching_step(secret, code, now / NS, user.totp_last_step)
            if step is None or not await d.store.set_totp_step(s, user.id, step):
                raise Invalid("wrong or already used code", field="code")
            await d.store.replace_recovery_codes(s, user.id,
                                                 [totp.hash_recovery_code(x) for x in codes])
            await d.audit.append(s, c.who, "2fa.recovery_codes_regenerated",
                                 target_type="user", target_id=user.id)
        return RecoveryCodesOut(recovery_codes=codes)
