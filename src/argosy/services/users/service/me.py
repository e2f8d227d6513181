"""The caller's own profile, sessions and devices."""

from __future__ import annotations

from argosy.kernel.errors import NotFound
from argosy.services.users.domain.profile import check_locale, check_timezone
from argosy.services.users.schemas import DeviceOut, ProfileOut, ProfilePatch, SessionOut
from argosy.services.users.service._context import Caller, Deps, iso
from argosy.services.users.service._sessions import (
    permissions_of,
    revoke_session,
    session_out,
)

__all__ = ["NOTIFICATION_PREFERENCES_URL", "MeService"]

#: owned by the notification service; the gateway routes it there
NOTIFICATION_PREFERENCES_URL = "/api/v1/notifications/preferences"


class MeService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    async def profile(self, c: Caller) -> ProfileOut:
        async with self.d.db.read() as s:
            user = await self.d.active_user(s, c)
            roles, perms = await permissions_of(self.d, s, user)
            case = await self.d.store.kyc_case(s, user.id, user.org_id)
        return ProfileOut(
            id=user.id, email=user.email, email_verified=user.email_verified, name=user.name,
            locale=user.locale, timezone=user.timezone, org=user.org_id, status=user.status,
            roles=roles, permissions=perms, two_factor_enabled=user.totp_enabled,
            kyc_state=case.state if case else "none", created_at=iso(user.created_ns),
            notification_preferences_url=NOTIFICATION_PREFERENCES_URL,
        )

    async def update(self, c: Caller, patch: ProfilePatch) -> ProfileOut:
        d, now = self.d, self.d.now()
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        if "timezone" in changes:
            check_timezone(changes["timezone"])
        if "locale" in changes:
            check_locale(changes["locale"])
        async with d.db.transaction() as s:
            user = await d.active_user(s, c, lock=True)
            before = {k: getattr(user, k) for k in changes}
            for k, v in changes.items():
                setattr(user, k, v)
            user.updated_ns = now
            if changes:
                await d.audit.append(s, c.who, "profile.updated", target_type="user",
                                     target_id=user.id, detail={"before": before,
                                                                "after": changes})
        return await self.profile(c)

    async def sessions(self, c: Caller) -> list[SessionOut]:
        async with self.d.db.read() as s:
            await self.d.active_user(s, c)
            rows = await self.d.store.live_sessions(s, c.user_id, self.d.now())
        return [session_out(r) for r in rows]

    async def revoke_session(self, c: Caller, session_id: str) -> None:
        d, now = self.d, self.d.now()
        async with d.db.transaction() as s:
            await d.active_user(s, c)
            row = await d.store.session(s, session_id, c.user_id, lock=True)
            if row is None or row.revoked_ns is not None:
                raise NotFound("no such session", field="session_id")
            await revoke_session(d, s, row, "user_revoked", now)
            await d.audit.append(s, c.who, "session.revoked", target_type="session",
                                 target_id=row.id)

    async def devices(self, c: Caller) -> list[DeviceOut]:
        async with self.d.db.read() as s:
            await self.d.active_user(s, c)
            rows = await self.d.store.devices(s, c.user_id)
        return [DeviceOut(id=r.id, user_agent=r.user_agent, last_ip=r.last_ip,
                          first_seen_at=iso(r.first_seen_ns), last_seen_at=iso(r.last_seen_ns))
                for r in rows]

    async def forget_device(self, c: Caller, device_id: str) -> None:
        """Forget a device and end its sessions: its next login is a new-device login."""
        d, now = self.d, self.d.now()
        async with d.db.transaction() as s:
            await d.active_user(s, c)
            row = await d.store.device(s, c.user_id, device_id=device_id)
            if row is None:
                raise NotFound("no such device", field="device_id")
            ended = 0
            for session in await d.store.live_sessions(s, c.user_id, now, device_id=row.id):
                ended += await revoke_session(d, s, session, "device_removed", now)
            await s.delete(row)
            await d.audit.append(s, c.who, "device.removed", target_type="device",
                                 target_id=row.id, detail={"sessions_revoked": ended})
