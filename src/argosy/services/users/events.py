"""What the users service publishes, always through the outbox of the use-case's own
transaction (so an event exists exactly when its change committed). The payload models are
wire contracts: contracts/v1/users.py.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.v1.users import (
    TOPIC_OF,
    AccountCreated,
    ApiKeyRevoked,
    EmailVerificationRequested,
    KycChanged,
    NewDeviceLogin,
    PasswordResetRequested,
    RegistrationRepeated,
    RolesChanged,
    SessionRevoked,
    UsersEvent,
)
from argosy.platform.db.outbox import Outbox

__all__ = [
    "AccountCreated",
    "ApiKeyRevoked",
    "EmailVerificationRequested",
    "KycChanged",
    "NewDeviceLogin",
    "PasswordResetRequested",
    "RegistrationRepeated",
    "RolesChanged",
    "SessionRevoked",
    "UsersEvents",
]


class UsersEvents:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def publish(self, s: AsyncSession, event: UsersEvent) -> None:
        await self._outbox.add(s, TOPIC_OF[type(event)], event.model_dump(mode="json"))
