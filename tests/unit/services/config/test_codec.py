"""Secrets at rest: encrypted, bound to their place, masked and unmasked."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from argosy.contracts.v1.config import MASK
from argosy.kernel.errors import Invalid
from argosy.platform.crypto import DecryptionError, SecretBox
from argosy.services.config.codec import SecretCodec

SECRET = {"type": "string", "x-argosy-secret": True}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": {"type": "string"},
        "password": SECRET,
        "backup": SECRET,
        "hooks": {"type": "array", "items": {"type": "object", "properties": {"token": SECRET}}},
        "keys": {"type": "object", "additionalProperties": SECRET},
    },
}
PLAIN = {
    "host": "mail.example",
    "password": "hunter2-plain",
    "hooks": [{"token": "tok-0-plain"}, {"token": "tok-1-plain"}],
    "keys": {"a/b": "slash-plain"},
}


@pytest.fixture
def codec() -> SecretCodec:
    return SecretCodec(SecretBox(os.urandom(32)))


def test_round_trip_and_nothing_in_clear(codec: SecretCodec) -> None:
    stored = codec.encrypt("risk", "limits", PLAIN, SCHEMA)
    text = json.dumps(stored)
    for plain in ("hunter2-plain", "tok-0-plain", "tok-1-plain", "slash-plain"):
        assert plain not in text
    assert stored["host"] == "mail.example"
    assert set(stored["password"]) == {"$enc"}
    assert codec.decrypt("risk", "limits", stored, SCHEMA) == PLAIN


def test_same_value_encrypts_differently_each_time(codec: SecretCodec) -> None:
    a = codec.encrypt("risk", "limits", PLAIN, SCHEMA)
    b = codec.encrypt("risk", "limits", PLAIN, SCHEMA)
    assert a["password"] != b["password"]


def test_ciphertext_moved_to_another_pointer_fails(codec: SecretCodec) -> None:
    stored = codec.encrypt("risk", "limits", PLAIN, SCHEMA)
    moved = {**stored, "backup": stored["password"]}
    with pytest.raises(DecryptionError):
        codec.decrypt("risk", "limits", moved, SCHEMA)
    swapped = {**stored, "hooks": [stored["hooks"][1], stored["hooks"][0]]}
    with pytest.raises(DecryptionError):
        codec.decrypt("risk", "limits", swapped, SCHEMA)


@pytest.mark.parametrize(("service", "namespace"), [("risk", "other"), ("trading", "limits")])
def test_ciphertext_moved_to_another_document_fails(
    codec: SecretCodec, service: str, namespace: str
) -> None:
    stored = codec.encrypt("risk", "limits", PLAIN, SCHEMA)
    with pytest.raises(DecryptionError):
        codec.decrypt(service, namespace, stored, SCHEMA)


def test_another_key_cannot_decrypt(codec: SecretCodec) -> None:
    stored = codec.encrypt("risk", "limits", PLAIN, SCHEMA)
    with pytest.raises(DecryptionError):
        SecretCodec(SecretBox(os.urandom(32))).decrypt("risk", "limits", stored, SCHEMA)


def test_a_secret_must_be_a_string(codec: SecretCodec) -> None:
    with pytest.raises(Invalid) as err:
        codec.encrypt("risk", "limits", {"hooks": [{"token": 5}]}, SCHEMA)
    assert err.value.field == "content.hooks.0.token"


def test_unmask_keeps_the_stored_value(codec: SecretCodec) -> None:
    incoming = {**PLAIN, "password": MASK, "hooks": [{"token": MASK}, {"token": "new"}],
                "keys": {"a/b": MASK}}
    out = codec.unmask(incoming, SCHEMA, PLAIN)
    assert out["password"] == "hunter2-plain"
    assert out["hooks"] == [{"token": "tok-0-plain"}, {"token": "new"}]
    assert out["keys"] == {"a/b": "slash-plain"}
    assert incoming["password"] == MASK  # the input is not changed


def test_the_mask_in_a_plain_field_stays_literal(codec: SecretCodec) -> None:
    assert codec.unmask({"host": MASK}, SCHEMA, PLAIN) == {"host": MASK}


@pytest.mark.parametrize(
    ("incoming", "current", "field"),
    [
        ({"password": MASK}, None, "content.password"),
        ({"backup": MASK}, PLAIN, "content.backup"),
        ({"hooks": [{}, {}, {"token": MASK}]}, PLAIN, "content.hooks.2.token"),
        ({"keys": {"x/y": MASK}}, PLAIN, "content.keys.x/y"),
    ],
)
def test_mask_without_a_stored_value_is_invalid(
    codec: SecretCodec, incoming: dict[str, Any], current: dict[str, Any] | None, field: str
) -> None:
    with pytest.raises(Invalid) as err:
        codec.unmask(incoming, SCHEMA, current)
    assert err.value.field == field


def test_changed_secrets(codec: SecretCodec) -> None:
    after = {**PLAIN, "password": "changed", "backup": "new",
             "hooks": [{"token": "tok-0-plain"}, {"token": "other"}]}
    assert codec.changed_secrets(PLAIN, after, SCHEMA) == ["/password", "/hooks/1/token"]
    assert codec.changed_secrets(None, after, SCHEMA) == []
    assert codec.changed_secrets(PLAIN, PLAIN, SCHEMA) == []
