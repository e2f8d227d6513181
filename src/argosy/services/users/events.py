"""What the users service publishes, always through the outbox of the use-case's own
transaction (so an event exists exactly when its change committed).

Payload models live here until they move to contracts/v1 (consumers: notification mails
tokens and new-device alerts, the gateway drops revoked sessions and API keys, trading
opens balances for new accounts).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.topics import USERS_EVENTS
from argosy.platform.db.outbox import Outbox

__all__ = [
    "AccountCreated",
    "ApiKeyRevoked",
    "EmailVerificationRequested",
    "KycChanged",
    "NewDeviceLogin",
    "PasswordResetRequested",
    "RolesChanged",
    "SessionRevoked",
    "UsersEvents",
]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at_ms: int


class EmailVerificationRequested(_Event):
    user_id: str
    org: str
    email: str
    token: str  # the notification service mails it; only its hash is stored here
    expires_at_ms: int
    locale: str


class PasswordResetRequested(_Event):
    user_id: str
    org: str
    email: str
    token: str
    expires_at_ms: int
    purpose: Literal["reset", "invite"]
    locale: str


class NewDeviceLogin(_Event):
    user_id: str
    org: str
    email: str
    device_id: str
    ip: str
    user_agent: str


class KycChanged(_Event):
    user_id: str
    org: str
    state: str
    previous: str
    reason: str | None
    actor: str


class SessionRevoked(_Event):
    session_id: str
    user_id: str
    org: str
    reason: str
    exp: int  # unix s: no access token naming this session outlives it (gateway's TTL)


class ApiKeyRevoked(_Event):
    key_id: str
    user_id: str
    org: str
    reason: str


class RolesChanged(_Event):
    user_id: str
    org: str
    roles: list[str]
    permissions: list[str]
    actor: str


class AccountCreated(_Event):
    account_id: str
    org: str
    user_id: str
    parent_id: str | None
    name: str
    kind: Literal["paper", "exchange"]
    venue: str | None
    currency: str
    starting_balance: str | None  # Decimal as a string; None for exchange accounts


_TOPICS: dict[type[_Event], str] = {
    EmailVerificationRequested: USERS_EVENTS["email_verification"],
    PasswordResetRequested: USERS_EVENTS["password_reset"],
    NewDeviceLogin: USERS_EVENTS["new_device_login"],
    KycChanged: USERS_EVENTS["kyc_changed"],
    SessionRevoked: USERS_EVENTS["session_revoked"],
    ApiKeyRevoked: USERS_EVENTS["api_key_revoked"],
    RolesChanged: USERS_EVENTS["roles_changed"],
    AccountCreated: USERS_EVENTS["account_created"],
}


class UsersEvents:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def publish(self, s: AsyncSession, event: _Event) -> None:
        await self._outbox.add(s, _TOPICS[type(event)], event.model_dump(mode="json"))
