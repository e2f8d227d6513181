"""Settings of the users service (env prefix ARGOSY_USERS_).

Password hashing defaults sit at OWASP's floor for Argon2id (m=19 MiB, t=2, p=1); lower
values are refused unless `argon2_allow_weak` is set, which only tests do, so a typo in a
deployment can never silently weaken every stored hash.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["OWASP_ARGON2", "UsersSettings"]

#: OWASP Password Storage Cheat Sheet, Argon2id minimum: (memory KiB, time cost, lanes)
OWASP_ARGON2 = (19 * 1024, 2, 1)

_CURRENCY = re.compile(r"^[A-Z0-9]{2,12}$")


class UsersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_USERS_", extra="ignore", frozen=True)

    # -- passwords -------------------------------------------------------------------
    argon2_allow_weak: bool = Field(False, description="Tests only: allow below OWASP.")
    argon2_memory_kib: int = Field(OWASP_ARGON2[0], ge=8, description="Argon2id m (KiB).")
    argon2_time_cost: int = Field(OWASP_ARGON2[1], ge=1, description="Argon2id t.")
    argon2_parallelism: int = Field(OWASP_ARGON2[2], ge=1, le=16, description="Argon2id p.")
    password_min_length: int = Field(12, ge=8, le=64)
    password_max_length: int = Field(128, ge=64, le=1024)

    # -- login throttling ------------------------------------------------------------
    login_free_failures: int = Field(3, ge=0, description="Failures before delays start.")
    login_delay_base_s: float = Field(1.0, gt=0, description="First delay; doubles after.")
    login_delay_max_s: float = Field(60.0, gt=0)
    login_lock_failures: int = Field(10, ge=1, description="Failures that lock an account.")
    login_lock_s: float = Field(900.0, gt=0, description="How long a lock lasts.")
    login_ip_lock_failures: int = Field(50, ge=1, description="Failures that block an IP.")
    login_window_s: float = Field(3600.0, gt=0, description="Failures older are forgotten.")
    trusted_proxies: tuple[str, ...] = Field(
        ("127.0.0.1/32", "::1/128"),
        description="CIDRs whose X-Forwarded-For is believed (the gateway).",
    )

    # -- organisations ---------------------------------------------------------------
    platform_orgs: tuple[str, ...] = Field(
        (), description="Organisations (ids) of the platform's operators: their roles also "
                        "grant config:read, config:write and market:admin, which no other "
                        "organisation's roles do.",
    )

    # -- tokens ----------------------------------------------------------------------
    access_ttl_s: int = Field(600, ge=30, le=3600, description="Access JWT lifetime.")
    refresh_ttl_s: int = Field(14 * 86400, ge=300, description="Idle refresh lifetime.")
    session_max_s: int = Field(30 * 86400, ge=300, description="Absolute session lifetime.")
    refresh_grace_s: float = Field(
        10.0, ge=0, le=120, description="A just-rotated refresh token returns the same pair."
    )
    key_cache_s: float = Field(15.0, ge=0, description="How long the signing key is cached.")
    email_token_ttl_s: int = Field(2 * 86400, ge=60)
    reset_token_ttl_s: int = Field(1800, ge=60)
    require_verified_email: bool = Field(False, description="Refuse login until verified.")

    # -- accounts, vault, KYC --------------------------------------------------------
    paper_starting_balance: str = Field("10000", description="Decimal string.")
    paper_currency: str = Field("USDT")
    vault_key_file: Path | None = Field(
        None, description="32-byte hex master key of the vault (default: generated)."
    )
    audit_key_file: Path | None = Field(
        None, description="32-byte hex key that signs the audit log's head anchor "
                          "(default: generated into the data dir)."
    )
    kyc_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    kyc_content_types: tuple[str, ...] = ("application/pdf", "image/jpeg", "image/png")
    totp_issuer: str = Field("Argosy", min_length=1, max_length=64)
    api_key_max_days: int = Field(365, ge=1, le=3650)

    @field_validator("paper_starting_balance")
    @classmethod
    def _balance(cls, v: str) -> str:
        try:
            amount = Decimal(v)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {v!r}") from None
        if not amount.is_finite() or amount < 0:
            raise ValueError("must be a finite, non-negative decimal")
        return v

    @field_validator("paper_currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if not _CURRENCY.match(v):
            raise ValueError("2-12 upper-case letters or digits, e.g. USDT")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in v:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad one
        return v

    @field_validator("argon2_memory_kib", "argon2_time_cost", "argon2_parallelism")
    @classmethod
    def _owasp(cls, v: int, info: ValidationInfo) -> int:
        floor = dict(zip(("argon2_memory_kib", "argon2_time_cost", "argon2_parallelism"),
                         OWASP_ARGON2, strict=True))[str(info.field_name)]
        if v < floor and not info.data.get("argon2_allow_weak"):
            raise ValueError(f"below OWASP's Argon2id minimum ({floor}); m>=19456, t>=2, p>=1")
        return v
