"""Tables owned by the users service. Every tenant-owned row carries `org_id`, and every
query over one filters by the caller's organisation (store.py), so a foreign id reads as
absent. Secrets are stored only sealed by the vault (`*_sealed`) or as hashes (`*_hash`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AccountRow",
    "ApiKeyRow",
    "AuditHeadRow",
    "AuditRow",
    "Base",
    "CredentialRow",
    "CustomRoleRow",
    "DeviceRow",
    "KycCaseRow",
    "KycDocumentRow",
    "OneTimeTokenRow",
    "OrganisationRow",
    "RecoveryCodeRow",
    "RefreshTokenRow",
    "RoleGrantRow",
    "SessionRow",
    "SigningKeyRow",
    "UserRow",
]

_ID = BigInteger().with_variant(Integer(), "sqlite")
_STR_ID = String(40)


class Base(DeclarativeBase):
    pass


class OrganisationRow(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_ns: Mapped[int] = mapped_column(BigInteger)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)  # None: invited
    status: Mapped[str] = mapped_column(String(16))  # active | invited | disabled
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(35), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    totp_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class CustomRoleRow(Base):
    __tablename__ = "custom_roles"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    name: Mapped[str] = mapped_column(String(32))
    permissions: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text, default="")
    created_ns: Mapped[int] = mapped_column(BigInteger)


class RoleGrantRow(Base):
    __tablename__ = "role_grants"

    user_id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    granted_by: Mapped[str] = mapped_column(String(80))
    granted_ns: Mapped[int] = mapped_column(BigInteger)


class RecoveryCodeRow(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class OneTimeTokenRow(Base):
    """Email verification, password reset and invitation tokens (hash only)."""

    __tablename__ = "one_time_tokens"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    expires_ns: Mapped[int] = mapped_column(BigInteger)
    used_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DeviceRow(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("user_id", "fingerprint"),)

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(_STR_ID)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    fingerprint: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(512))
    first_seen_ns: Mapped[int] = mapped_column(BigInteger)
    last_seen_ns: Mapped[int] = mapped_column(BigInteger)
    last_ip: Mapped[str] = mapped_column(String(64))


class SessionRow(Base):
    """One login: the family of refresh tokens that descends from it."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    device_id: Mapped[str | None] = mapped_column(_STR_ID, nullable=True)
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(512))
    created_ns: Mapped[int] = mapped_column(BigInteger)
    last_used_ns: Mapped[int] = mapped_column(BigInteger)
    expires_ns: Mapped[int] = mapped_column(BigInteger)
    revoked_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class RefreshTokenRow(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    parent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    expires_ns: Mapped[int] = mapped_column(BigInteger)
    rotated_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    child_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    grace_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # the child pair


class SigningKeyRow(Base):
    """Ed25519 keys for access tokens; published until every token they signed expired."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(40), primary_key=True)
    private_sealed: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    retired_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # not current
    unpublish_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # off JWKS


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    user_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    parent_id: Mapped[str | None] = mapped_column(_STR_ID, nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # paper | exchange
    venue: Mapped[str | None] = mapped_column(String(32), nullable=True)
    currency: Mapped[str] = mapped_column(String(12))
    starting_balance: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)


class CredentialRow(Base):
    __tablename__ = "credentials"

    account_id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    api_key_masked: Mapped[str] = mapped_column(String(16))
    sealed: Mapped[str] = mapped_column(Text)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    user_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    allowed_ips: Mapped[list[str]] = mapped_column(JSON)
    expires_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    revoked_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class KycCaseRow(Base):
    __tablename__ = "kyc_cases"

    user_id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewer: Mapped[str | None] = mapped_column(_STR_ID, nullable=True)
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class KycDocumentRow(Base):
    """The file itself is in the object store, encrypted; its data key is sealed here."""

    __tablename__ = "kyc_documents"

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(255))
    key_sealed: Mapped[str] = mapped_column(Text)
    uploaded_ns: Mapped[int] = mapped_column(BigInteger)


class AuditRow(Base):
    """Append-only and hash-chained (domain/audit_chain.py); no code path updates a row."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at_ns: Mapped[int] = mapped_column(BigInteger)
    org_id: Mapped[str | None] = mapped_column(_STR_ID, nullable=True, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """One row (id 1): the audit chain's newest link, rewritten with every append."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_ns: Mapped[int] = mapped_column(BigInteger)
