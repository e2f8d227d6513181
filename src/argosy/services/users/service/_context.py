"""What every use-case module shares: its dependencies, the caller, and small helpers."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.clock import Clock, ns_to_iso
from argosy.kernel.errors import Unauthorized, Unavailable
from argosy.platform.auth.internal import Principal
from argosy.platform.db.engine import Database
from argosy.platform.objects.base import ObjectStore
from argosy.services.users.auditlog import AuditLog, Who
from argosy.services.users.events import UsersEvents
from argosy.services.users.hashing import Passwords
from argosy.services.users.login_throttle import LoginThrottle
from argosy.services.users.models import UserRow
from argosy.services.users.settings import UsersSettings
from argosy.services.users.signing import SigningKeys
from argosy.services.users.store import UsersStore
from argosy.services.users.vault import Vault, VaultError

__all__ = ["Caller", "Client", "Deps", "iso", "iso_or_none", "new_token", "token_hash"]

NS = 1_000_000_000

log = structlog.get_logger("argosy.users")


@dataclass(frozen=True, slots=True)
class Client:
    """Where a request came from (after trusted-proxy resolution)."""

    ip: str
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class Caller:
    """A user as the gateway vouched for them: id, tenant and the token's permissions."""

    user_id: str
    org: str
    principal: Principal
    client: Client

    @classmethod
    def of(cls, p: Principal, client: Client) -> Caller:
        if p.kind != "user" or not p.org:
            raise Unauthorized("a user identity with an organisation is required")
        return cls(p.subject.split(":", 1)[1], p.org, p, client)

    @property
    def who(self) -> Who:
        return Who(f"user:{self.user_id}", self.org, self.client.ip)

    def allows(self, permission: str) -> bool:
        return self.principal.allows(permission)

    def require(self, permission: str) -> None:
        self.principal.require(permission)


@dataclass
class Deps:
    db: Database
    store: UsersStore
    events: UsersEvents
    audit: AuditLog
    vault: Vault
    passwords: Passwords
    keys: SigningKeys
    throttle: LoginThrottle
    objects: ObjectStore
    settings: UsersSettings
    clock: Clock

    def now(self) -> int:
        return self.clock.now_ns()

    def platform_org(self, org: str) -> bool:
        """Whether `org` is an operators' organisation (its roles grant platform-wide
        permissions: domain/rbac.py)."""
        return org in self.settings.platform_orgs

    def unseal(self, sealed: str, purpose: str) -> bytes:
        """Open a vault value; a value that fails is an integrity problem, reported without
        a traceback (whose locals could hold key material)."""
        try:
            return self.vault.open(sealed, purpose)
        except VaultError as exc:
            log.error("users.vault_open_failed", purpose=purpose.split(":")[0], error=str(exc))
            raise Unavailable("a stored secret cannot be decrypted", dependency="vault") from None

    def unseal_detached(self, sealed_key: str, ciphertext: bytes, purpose: str) -> bytes:
        try:
            return self.vault.open_detached(sealed_key, ciphertext, purpose)
        except VaultError as exc:
            log.error("users.vault_open_failed", purpose=purpose.split(":")[0], error=str(exc))
            raise Unavailable("a stored file cannot be decrypted", dependency="vault") from None

    async def active_user(self, s: AsyncSession, c: Caller, *, lock: bool = False) -> UserRow:
        """The caller's row; a deleted or disabled user's still-valid token gets 401."""
        user = await self.store.user(s, c.user_id, c.org, lock=lock)
        if user is None or user.status != "active":
            raise Unauthorized("unknown or disabled user")
        return user


def new_token(prefix: str) -> tuple[str, str]:
    """(plaintext, hash to store): 256 random bits, so SHA-256 needs no salt or stretching."""
    plain = f"{prefix}_{secrets.token_urlsafe(32)}"
    return plain, token_hash(plain)


def token_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def iso(ns: int) -> str:
    return ns_to_iso(ns)


def iso_or_none(ns: int | None) -> str | None:
    return None if ns is None else ns_to_iso(ns)
