"""Events the users service publishes (topics in contracts/topics.USERS_EVENTS).

Consumers: notification mails tokens and new-device alerts, the gateway drops revoked
sessions and API keys, trading opens balances for new accounts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from argosy.contracts.topics import USERS_EVENTS

__all__ = [
    "TOPIC_OF",
    "AccountCreated",
    "ApiKeyRevoked",
    "EmailVerificationRequested",
    "KycChanged",
    "NewDeviceLogin",
    "PasswordResetRequested",
    "RegistrationRepeated",
    "RolesChanged",
    "SessionRevoked",
    "UsersEvent",
]


class UsersEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at_ms: int


class EmailVerificationRequested(UsersEvent):
    user_id: str
    org: str
    email: str
    token: str  # the notification service mails it; only its hash is stored here
    expires_at_ms: int
    locale: str


class PasswordResetRequested(UsersEvent):
    user_id: str
    org: str
    email: str
    token: str
    expires_at_ms: int
    purpose: Literal["reset", "invite"]
    locale: str


class RegistrationRepeated(UsersEvent):
    """Someone registered with an email that already has an account. The registrant is
    answered exactly as for a new address (no enumeration); the owner is told instead, so
    the notification service can mail "was it you? sign in, or reset your password"."""

    user_id: str
    org: str
    email: str
    ip: str
    locale: str


class NewDeviceLogin(UsersEvent):
    user_id: str
    org: str
    email: str
    device_id: str
    ip: str
    user_agent: str


class KycChanged(UsersEvent):
    user_id: str
    org: str
    state: str
    previous: str
    reason: str | None
    actor: str


class SessionRevoked(UsersEvent):
    session_id: str
    user_id: str
    org: str
    reason: str
    exp: int  # unix s: no access token naming this session outlives it (gateway's TTL)


class ApiKeyRevoked(UsersEvent):
    key_id: str
    user_id: str
    org: str
    reason: str


class RolesChanged(UsersEvent):
    user_id: str
    org: str
    roles: list[str]
    permissions: list[str]
    actor: str


class AccountCreated(UsersEvent):
    account_id: str
    org: str
    user_id: str
    parent_id: str | None
    name: str
    kind: Literal["paper", "exchange"]
    venue: str | None
    currency: str
    starting_balance: str | None  # Decimal as a string; None for exchange accounts


TOPIC_OF: dict[type[UsersEvent], str] = {
    EmailVerificationRequested: USERS_EVENTS["email_verification"],
    PasswordResetRequested: USERS_EVENTS["password_reset"],
    NewDeviceLogin: USERS_EVENTS["new_device_login"],
    KycChanged: USERS_EVENTS["kyc_changed"],
    SessionRevoked: USERS_EVENTS["session_revoked"],
    ApiKeyRevoked: USERS_EVENTS["api_key_revoked"],
    RolesChanged: USERS_EVENTS["roles_changed"],
    AccountCreated: USERS_EVENTS["account_created"],
    # not yet in topics.USERS_EVENTS (that file is shared): the same name belongs there
    RegistrationRepeated: "users.registration.repeated",
}
