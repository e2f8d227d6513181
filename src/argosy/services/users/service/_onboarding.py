"""What a new member of the platform gets: a tenant (self-registration) or a place in the
inviting one, a default paper trading account, and an email verification token."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.ids import new_id
from argosy.services.users.auditlog import Who
from argosy.services.users.domain.rbac import ADMIN_ROLE
from argosy.services.users.events import AccountCreated, EmailVerificationRequested
from argosy.services.users.models import (
    AccountRow,
    OneTimeTokenRow,
    OrganisationRow,
    RoleGrantRow,
    UserRow,
)
from argosy.services.users.service._context import NS, Client, Deps, new_token

__all__ = ["add_account", "create_member", "create_tenant", "request_verification"]


async def create_tenant(
    d: Deps, s: AsyncSession, *, email: str, password_hash: str, name: str, locale: str,
    timezone: str, client: Client,
) -> tuple[UserRow, str]:
    """A new organisation whose first user (its admin) is the registrant."""
    now = d.now()
    org = OrganisationRow(id=new_id("org"), name=f"{name or email.split('@')[0]}'s organisation",
                          created_ns=now)
    user = UserRow(id=new_id("usr"), org_id=org.id, email=email, password_hash=password_hash,
                   status="active", email_verified=False, name=name, locale=locale,
                   timezone=timezone, totp_enabled=False, created_ns=now, updated_ns=now)
    s.add_all([org, user])
    s.add(RoleGrantRow(user_id=user.id, role=ADMIN_ROLE, org_id=org.id,
                       granted_by="system:registration", granted_ns=now))
    await s.flush()  # the unique email constraint speaks here, inside the transaction
    account = await create_member(d, s, user)
    await request_verification(d, s, user)
    await d.audit.append(s, Who(f"user:{user.id}", org.id, client.ip), "user.registered",
                         target_type="user", target_id=user.id,
                         detail={"org_created": True, "roles": [ADMIN_ROLE]})
    return user, account


async def create_member(d: Deps, s: AsyncSession, user: UserRow) -> str:
    """The default paper account every new user gets; returns its id."""
    row = await add_account(
        d, s, user, name="Paper", kind="paper", venue=None, parent_id=None,
        currency=d.settings.paper_currency,
        starting_balance=Decimal(d.settings.paper_starting_balance),
    )
    return row.id


async def add_account(
    d: Deps, s: AsyncSession, user: UserRow, *, name: str, kind: str, venue: str | None,
    parent_id: str | None, currency: str, starting_balance: Decimal | None,
) -> AccountRow:
    now = d.now()
    row = AccountRow(
        id=new_id("acc"), org_id=user.org_id, user_id=user.id, parent_id=parent_id, name=name,
        kind=kind, venue=venue, currency=currency,
        starting_balance=None if starting_balance is None else str(starting_balance),
        created_ns=now,
    )
    s.add(row)
    await d.events.publish(s, AccountCreated(
        at_ms=now // 1_000_000, account_id=row.id, org=row.org_id, user_id=user.id,
        parent_id=parent_id, name=name, kind=kind,
        venue=venue, currency=currency, starting_balance=row.starting_balance,
    ))
    return row


async def request_verification(d: Deps, s: AsyncSession, user: UserRow) -> None:
    now = d.now()
    plain, digest = new_token("ev")
    expires = now + d.settings.email_token_ttl_s * NS
    s.add(OneTimeTokenRow(user_id=user.id, purpose="verify_email", token_hash=digest,
                          created_ns=now, expires_ns=expires))
    await d.events.publish(s, EmailVerificationRequested(
        at_ms=now // 1_000_000, user_id=user.id, org=user.org_id, email=user.email,
        token=plain, expires_at_ms=expires // 1_000_000, locale=user.locale,
    ))
