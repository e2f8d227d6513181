"""Wiring of the users service (8083): identity, organisations, RBAC, accounts, credential
vault, API keys, KYC and the security audit log."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from argosy.kernel.clock import Clock, LiveClock
from argosy.platform.http.identity import identity_dependency
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.secrets import ensure_secret, read_secret
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.users.api import accounts as accounts_api
from argosy.services.users.api import admin as admin_api
from argosy.services.users.api import api_keys as api_keys_api
from argosy.services.users.api import audit as audit_api
from argosy.services.users.api import auth as auth_api
from argosy.services.users.api import internal as internal_api
from argosy.services.users.api import kyc as kyc_api
from argosy.services.users.api import me as me_api
from argosy.services.users.api._deps import RequestDeps
from argosy.services.users.auditlog import AuditLog
from argosy.services.users.domain.throttle import ThrottlePolicy
from argosy.services.users.events import UsersEvents
from argosy.services.users.hashing import Passwords
from argosy.services.users.login_throttle import LoginThrottle
from argosy.services.users.service._context import Deps
from argosy.services.users.service.accounts import AccountsService
from argosy.services.users.service.admin import AdminService
from argosy.services.users.service.admin_roles import RolesService
from argosy.services.users.service.api_keys import ApiKeysService
from argosy.services.users.service.audit import AuditService
from argosy.services.users.service.auth import AuthService
from argosy.services.users.service.kyc import KycService
from argosy.services.users.service.me import MeService
from argosy.services.users.service.recovery import RecoveryService
from argosy.services.users.service.twofactor import TwoFactorService
from argosy.services.users.settings import UsersSettings
from argosy.services.users.signing import SigningKeys
from argosy.services.users.store import UsersStore
from argosy.services.users.vault import Vault

__all__ = ["create_app", "open_vault", "passwords_from", "throttle_policies"]

DESCRIPTION = """Identity and the things that belong to it: registration, login (Argon2id,
TOTP, lockout), EdDSA access tokens with a JWKS, rotating refresh tokens, organisations and
roles, trading accounts, the exchange-credential vault, API keys, KYC, and a hash-chained
security audit log."""


def open_vault(settings: UsersSettings, data_dir: Path) -> Vault:
    """The vault over the configured master key, or one generated into the data dir."""
    if settings.vault_key_file is not None:
        return Vault(settings.vault_key_file, setting="ARGOSY_USERS_VAULT_KEY_FILE")
    path = data_dir / "secrets" / "users-vault.key"
    ensure_secret(path)
    return Vault(path)


def audit_anchor_key(settings: UsersSettings, data_dir: Path) -> bytes:
    """The key that signs the audit log's head anchor; kept out of the database, so an
    intruder with the database alone cannot hide the removal of the newest rows."""
    if settings.audit_key_file is not None:
        return read_secret(settings.audit_key_file, setting="ARGOSY_USERS_AUDIT_KEY_FILE",
                           nbytes=32)
    return ensure_secret(data_dir / "secrets" / "users-audit.key")


def passwords_from(settings: UsersSettings) -> Passwords:
    return Passwords(memory_kib=settings.argon2_memory_kib, time_cost=settings.argon2_time_cost,
                     parallelism=settings.argon2_parallelism)


def throttle_policies(st: UsersSettings) -> tuple[ThrottlePolicy, ThrottlePolicy]:
    """(per account, per IP): the same delays, a higher lock threshold for addresses that
    many people share (offices, carrier NAT)."""
    account = ThrottlePolicy(st.login_free_failures, st.login_delay_base_s, st.login_delay_max_s,
                             st.login_lock_failures, st.login_lock_s, st.login_window_s)
    ip = ThrottlePolicy(st.login_free_failures * 3, st.login_delay_base_s, st.login_delay_max_s,
                        st.login_ip_lock_failures, st.login_lock_s, st.login_window_s)
    return account, ip


def create_app(
    platform: PlatformSettings | None = None, *, settings: UsersSettings | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    settings = settings or load_settings(UsersSettings)
    clock = clock or LiveClock()
    rt = ServiceRuntime(
        ServiceSpec(name="users", settings=settings, description=DESCRIPTION,
                    uses=frozenset({"db", "cache", "objects"}),
                    migrations=Path(__file__).parent / "migrations"),
        platform,
    )
    assert rt.db is not None and rt.outbox is not None  # noqa: PT018
    assert rt.cache is not None and rt.objects is not None  # noqa: PT018
    vault = open_vault(settings, rt.data_dir)
    keys = SigningKeys(rt.db, vault, clock, access_ttl_s=settings.access_ttl_s,
                       cache_s=settings.key_cache_s)
    account_policy, ip_policy = throttle_policies(settings)
    d = Deps(
        db=rt.db, store=UsersStore(), events=UsersEvents(rt.outbox),
        audit=AuditLog(rt.db, clock, audit_anchor_key(settings, rt.data_dir)),
        vault=vault, passwords=passwords_from(settings), keys=keys,
        throttle=LoginThrottle(rt.cache, clock, account=account_policy, ip=ip_policy),
        objects=rt.objects, settings=settings, clock=clock,
    )

    async def first_signing_key() -> None:
        await keys.current()

    rt.background("signing-key", first_signing_key, needs=("db",))
    req = RequestDeps(identity_dependency(rt.auth), settings.trusted_proxies)
    accounts, api_keys, audit = AccountsService(d), ApiKeysService(d), AuditService(d)
    routers = [
        auth_api.router(req, AuthService(d, rt.cache), RecoveryService(d, rt.cache),
                        TwoFactorService(d)),
        auth_api.jwks_router(keys),
        me_api.router(req, MeService(d)),
        accounts_api.router(req, accounts),
        api_keys_api.router(req, api_keys),
        kyc_api.router(req, KycService(d), settings.kyc_max_bytes),
        audit_api.router(req, audit),
        admin_api.router(req, AdminService(d), RolesService(d)),
        internal_api.router(req, accounts, api_keys, audit),
    ]
    return create_service_app(rt, routers)
