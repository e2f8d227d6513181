"""Roles and permissions: built-in roles, custom roles per organisation, and who may grant.

A user's permissions are the union of their roles' permissions, resolved again at every
token refresh so a revoked role stops working within one access-token lifetime. Nobody can
hand out more than they hold, so `users:admin` alone cannot mint a full admin.

Two scopes. Most permissions act inside the holder's organisation (the services filter by
tenant). `PLATFORM_PERMISSIONS` act on what every tenant shares: the configuration of all
services (the gateway's route table, rate limits...) and the market-data feeds. Anyone can
register and become admin of a new organisation, so an organisation's roles grant those
only in the operators' organisations (`ARGOSY_USERS_PLATFORM_ORGS`); everywhere else the
built-in `admin` is an organisation admin, and a custom role cannot name them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from argosy.contracts.v1.identity import BUILTIN_ROLES, PERMISSIONS
from argosy.kernel.errors import Forbidden, Invalid

__all__ = [
    "ADMIN_ROLE",
    "PLATFORM_PERMISSIONS",
    "check_grant",
    "check_permissions",
    "check_role_name",
    "grantable",
    "resolve",
    "role_permissions",
]

ADMIN_ROLE = "admin"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
_KNOWN = frozenset(PERMISSIONS)
#: permissions over what every organisation shares (see the module docstring)
PLATFORM_PERMISSIONS = frozenset({"config:read", "config:write", "market:admin"})
_TENANT = _KNOWN - PLATFORM_PERMISSIONS


def grantable(platform: bool) -> frozenset[str]:
    """What an organisation's roles can grant: everything in an operators' organisation,
    the tenant-scoped permissions elsewhere."""
    return _KNOWN if platform else _TENANT


def check_role_name(name: str, field: str = "name") -> str:
    if not _NAME.match(name):
        raise Invalid("role names are 2-32 lower-case letters, digits, _ or -, starting with a "
                      "letter", field=field)
    if name in BUILTIN_ROLES:
        raise Invalid(f"{name!r} is a built-in role", field=field)
    return name


def check_permissions(perms: Iterable[str], field: str = "permissions", *,
                      platform: bool = False) -> frozenset[str]:
    out = frozenset(perms)
    unknown = sorted(out - _KNOWN)
    if unknown:
        raise Invalid(f"unknown permissions: {', '.join(unknown)}", field=field)
    reserved = sorted(out - grantable(platform))
    if reserved:
        raise Invalid(f"platform permissions, not an organisation's to grant: "
                      f"{', '.join(reserved)}", field=field)
    if not out:
        raise Invalid("at least one permission is needed", field=field)
    return out


def role_permissions(role: str, custom: Mapping[str, frozenset[str]], *,
                     platform: bool = False) -> frozenset[str] | None:
    """The role's permissions in an organisation (operators' when `platform`), or None
    when the organisation has no such role."""
    perms = BUILTIN_ROLES[role] if role in BUILTIN_ROLES else custom.get(role)
    return None if perms is None else perms & grantable(platform)


def resolve(roles: Iterable[str], custom: Mapping[str, frozenset[str]], *,
            platform: bool = False) -> frozenset[str]:
    """The union of the roles' permissions; a role that no longer exists grants nothing."""
    perms: set[str] = set()
    for role in roles:
        perms |= role_permissions(role, custom, platform=platform) or frozenset()
    return frozenset(perms)


def check_grant(actor_perms: frozenset[str], role: str, role_perms: frozenset[str]) -> None:
    """Raise Forbidden unless the actor holds `users:admin` and every permission of `role`."""
    if "users:admin" not in actor_perms:
        raise Forbidden("users:admin is needed to assign or revoke roles")
    missing = sorted(role_perms - actor_perms)
    if missing:
        raise Forbidden(f"cannot grant {role!r}: you lack {', '.join(missing)}")
