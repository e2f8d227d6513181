"""Password policy and the production Argon2 parameters."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import ConfigurationError, Invalid
from argosy.platform.settings import load_settings
from argosy.services.users.domain.passwords import check_password
from argosy.services.users.settings import OWASP_ARGON2, UsersSettings


@pytest.mark.parametrize("password", [
    "correct horse battery", "Tr0ub4dor&3xyz", "a long passphrase with spaces",
])
def test_good_passwords_pass(password: str) -> None:
    check_password(password, email="alice@example.com")


@pytest.mark.parametrize(("password", "words"), [
    ("short", "at least 12"),
    ("x" * 129, "at most 128"),
    ("            ", "only spaces"),
    ("abababababab", "4 different"),
    ("Password1234", "too common"),
    ("abcdefghijklmnop", "too common"),
    ("123456789012345", "too common"),
    ("my-alice.smith-pass", "email"),
])
def test_bad_passwords_are_refused_naming_the_field(password: str, words: str) -> None:
    with pytest.raises(Invalid) as err:
        check_password(password, email="alice.smith@example.com")
    assert words in err.value.message
    assert err.value.field == "password"


def test_production_argon2_defaults_meet_owasp(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("MEMORY_KIB", "TIME_COST", "PARALLELISM", "ALLOW_WEAK"):
        monkeypatch.delenv(f"ARGOSY_USERS_ARGON2_{key}", raising=False)
    s = load_settings(UsersSettings)
    assert s.argon2_memory_kib >= 19 * 1024
    assert s.argon2_time_cost >= 2
    assert s.argon2_parallelism >= 1
    assert (s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism) >= OWASP_ARGON2


def test_weak_argon2_is_refused_unless_explicitly_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARGOSY_USERS_ARGON2_TIME_COST", "1")
    with pytest.raises(ConfigurationError) as err:
        load_settings(UsersSettings)
    assert err.value.setting == "ARGOSY_USERS_ARGON2_TIME_COST"
    monkeypatch.setenv("ARGOSY_USERS_ARGON2_ALLOW_WEAK", "true")
    assert load_settings(UsersSettings).argon2_time_cost == 1


def test_starting_balance_must_be_a_decimal_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOSY_USERS_PAPER_STARTING_BALANCE", "lots")
    with pytest.raises(ConfigurationError) as err:
        load_settings(UsersSettings)
    assert err.value.setting == "ARGOSY_USERS_PAPER_STARTING_BALANCE"
