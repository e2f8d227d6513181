"""Wire models of the users service's REST API (to move to contracts/v1/users.py).

Every request model forbids unknown fields: a client that sends `user_id`, `role`,
`organisation` or `is_admin` gets a 422 naming the field, and nothing is applied. Only the
authenticated identity decides who and which tenant a request is for.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccountIn", "AccountOut", "AdminUserIn", "AdminUserOut", "ApiKeyCreatedOut", "ApiKeyIn",
    "ApiKeyOut", "AuditOut", "CredentialIn", "CredentialOut", "CredentialSecretOut",
    "DeviceOut", "KycCaseOut", "KycDocumentOut", "KycReviewIn", "LoginIn", "PasswordChangeIn",
    "PasswordResetConfirmIn", "PasswordResetIn", "ProfileOut", "ProfilePatch",
    "RecoveryCodesOut", "RefreshIn", "RegisterIn", "RegisterOut", "RoleAssignIn", "RoleIn",
    "RoleOut", "RolePatch", "SessionOut", "TokenIn", "TokenOut", "TotpCodeIn", "TotpDisableIn",
    "TotpEnrolOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=4096)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# -- authentication ----------------------------------------------------------------------
class RegisterIn(_In):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    name: str = Field("", max_length=200)
    locale: str | None = Field(None, max_length=35)
    timezone: str | None = Field(None, max_length=64)
    invite_token: str | None = Field(None, max_length=128,
                                     description="Joins the inviting organisation.")


class RegisterOut(_Out):
    user_id: str
    org: str
    email: str
    email_verified: bool
    account_id: str | None = Field(description="The default paper account (new users).")


class LoginIn(_In):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    totp: str | None = Field(None, max_length=32,
                             description="TOTP code, or a recovery code, when 2FA is on.")


class TokenOut(_Out):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 scheme name)
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshIn(_In):
    refresh_token: str = Field(max_length=2048)  # an access token sent here gets a 401


class TokenIn(_In):
    token: str = Field(max_length=200)


class PasswordResetIn(_In):
    email: str = Field(max_length=254)


class PasswordResetConfirmIn(_In):
    token: str = Field(max_length=200)
    new_password: str = Field(max_length=1024)


class PasswordChangeIn(_In):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class TotpEnrolOut(_Out):
    secret: str
    otpauth_uri: str


class TotpCodeIn(_In):
    code: str = Field(max_length=32)


class TotpDisableIn(_In):
    password: str = Field(max_length=1024)
    code: str = Field(max_length=32, description="TOTP code or a recovery code.")


class RecoveryCodesOut(_Out):
    recovery_codes: list[str] = Field(description="Shown once; each works once.")


# -- profile, sessions, devices ----------------------------------------------------------
class ProfileOut(_Out):
    id: str
    email: str
    email_verified: bool
    name: str
    locale: str
    timezone: str
    org: str
    status: str
    roles: list[str]
    permissions: list[str]
    two_factor_enabled: bool
    kyc_state: str
    created_at: str
    notification_preferences_url: str


class ProfilePatch(_In):
    name: str | None = Field(None, max_length=200)
    locale: str | None = Field(None, max_length=35)
    timezone: str | None = Field(None, max_length=64)


class SessionOut(_Out):
    id: str
    device_id: str | None
    ip: str
    user_agent: str
    created_at: str
    last_used_at: str
    expires_at: str


class DeviceOut(_Out):
    id: str
    user_agent: str
    last_ip: str
    first_seen_at: str
    last_seen_at: str


# -- accounts and the credential vault ---------------------------------------------------
class AccountIn(_In):
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["paper", "exchange"]
    venue: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{1,31}$")
    parent_id: str | None = Field(None, max_length=40)
    currency: str | None = Field(None, pattern=r"^[A-Z0-9]{2,12}$")
    starting_balance: str | None = Field(
        None, max_length=40, description="Paper only: a decimal string such as \"2500.50\".")


class AccountOut(_Out):
    id: str
    name: str
    kind: str
    venue: str | None
    parent_id: str | None
    currency: str
    starting_balance: str | None
    has_credentials: bool
    created_at: str


class CredentialIn(_In):
    api_key: str = Field(min_length=4, max_length=256)
    api_secret: str = Field(min_length=4, max_length=1024)
    passphrase: str | None = Field(None, max_length=256)


class CredentialOut(_Out):
    account_id: str
    venue: str | None
    api_key_masked: str
    has_passphrase: bool
    created_at: str
    updated_at: str


class CredentialSecretOut(_Out):
    """Internal: only the trading service ever receives this."""

    account_id: str
    org: str
    venue: str | None
    api_key: str
    api_secret: str
    passphrase: str | None


# -- API keys ----------------------------------------------------------------------------
class ApiKeyIn(_In):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(max_length=64)
    allowed_ips: list[str] = Field(default_factory=list, max_length=64,
                                   description="CIDRs; empty allows any address.")
    expires_in_days: int | None = Field(None, ge=1, description="Capped by a setting.")


class ApiKeyOut(_Out):
    key_id: str
    name: str
    scopes: list[str]
    allowed_ips: list[str]
    status: Literal["active", "revoked", "expired"]
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class ApiKeyCreatedOut(ApiKeyOut):
    secret: str = Field(description="Shown once. Sign requests with it (HMAC-SHA256).")


# -- KYC ---------------------------------------------------------------------------------
class KycDocumentOut(_Out):
    id: str
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: str


class KycCaseOut(_Out):
    user_id: str
    state: str
    reason: str | None
    reviewer: str | None
    updated_at: str | None
    documents: list[KycDocumentOut]


class KycReviewIn(_In):
    action: Literal["start_review", "approve", "reject"]
    reason: str | None = Field(None, max_length=1000)


# -- audit and administration ------------------------------------------------------------
class AuditOut(_Out):
    seq: int
    at: str
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    request_id: str | None
    detail: dict[str, Any]
    hash: str


class AdminUserIn(_In):
    email: str = Field(max_length=254)
    name: str = Field("", max_length=200)
    roles: list[str] = Field(default_factory=lambda: ["viewer"], max_length=16)


class AdminUserOut(_Out):
    id: str
    email: str
    name: str
    status: str
    email_verified: bool
    two_factor_enabled: bool
    roles: list[str]
    created_at: str


class RoleIn(_In):
    name: str = Field(max_length=32)
    permissions: list[str] = Field(max_length=64)
    description: str = Field("", max_length=500)


class RolePatch(_In):
    permissions: list[str] | None = Field(None, max_length=64,
                                          description="The whole new set (replaces the old).")
    description: str | None = Field(None, max_length=500)


class RoleOut(_Out):
    name: str
    permissions: list[str]
    builtin: bool
    description: str


class RoleAssignIn(_In):
    role: str = Field(max_length=32)
