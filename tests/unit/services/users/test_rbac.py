"""Role resolution, custom roles and who may grant what."""

from __future__ import annotations

import pytest

from argosy.contracts.v1.identity import BUILTIN_ROLES, PERMISSIONS
from argosy.kernel.errors import Forbidden, Invalid
from argosy.services.users.domain.rbac import (
    PLATFORM_PERMISSIONS,
    check_grant,
    check_permissions,
    check_role_name,
    resolve,
)

CUSTOM = {"desk": frozenset({"orders:read", "kyc:review"})}


def test_builtin_and_custom_roles_resolve_to_the_union() -> None:
    assert resolve(["admin"], {}, platform=True) == frozenset(PERMISSIONS)
    assert resolve(["viewer", "desk"], CUSTOM) == BUILTIN_ROLES["viewer"] | CUSTOM["desk"]
    assert resolve(["gone"], CUSTOM) == frozenset()
    assert "orders:write" not in resolve(["viewer", "auditor"], {})


def test_custom_role_names_and_permissions_are_checked() -> None:
    assert check_role_name("risk-desk") == "risk-desk"
    for bad in ("admin", "X", "1abc", "has space"):
        with pytest.raises(Invalid):
            check_role_name(bad)
    with pytest.raises(Invalid) as err:
        check_permissions(["orders:read", "root:all"])
    assert "root:all" in err.value.message
    with pytest.raises(Invalid):
        check_permissions([])


def test_nobody_grants_more_than_they_hold() -> None:
    admin = BUILTIN_ROLES["admin"]
    check_grant(admin, "trader", BUILTIN_ROLES["trader"])
    user_admin_only = frozenset({"users:admin", "orders:read"})
    check_grant(user_admin_only, "desk", frozenset({"orders:read"}))
    with pytest.raises(Forbidden) as err:
        check_grant(user_admin_only, "admin", admin)
    assert "lack" in err.value.message
    with pytest.raises(Forbidden):
        check_grant(BUILTIN_ROLES["trader"], "viewer", BUILTIN_ROLES["viewer"])


def test_an_organisation_grants_platform_permissions_only_when_it_is_the_operators() -> None:
    """Anyone may register and administer their own organisation; the configuration of
    every service and the market-data feeds are shared by all organisations."""
    assert {"config:read", "config:write", "market:admin"} == PLATFORM_PERMISSIONS
    assert resolve(["admin"], {}) == frozenset(PERMISSIONS) - PLATFORM_PERMISSIONS
    sneaky = {"ops": frozenset({"config:write", "orders:read"})}  # stored before the rule
    assert resolve(["ops"], sneaky) == {"orders:read"}
    assert resolve(["ops"], sneaky, platform=True) == sneaky["ops"]
    with pytest.raises(Invalid) as err:
        check_permissions(["orders:read", "config:write"])
    assert "config:write" in err.value.message
    assert check_permissions(["config:write"], platform=True) == {"config:write"}
    # an organisation admin still hands out its own admin role: what it grants is scoped too
    check_grant(resolve(["admin"], {}), "admin", resolve(["admin"], {}))
