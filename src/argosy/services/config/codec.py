"""Secrets in stored documents: encrypted on the way in, decrypted or masked on the way out.

A stored secret is `{"$enc": "<SecretBox token>"}`, bound to its service, namespace and
JSON pointer as associated data, so a ciphertext copied elsewhere fails to decrypt.
"""

from __future__ import annotations

from typing import Any

from argosy.contracts.v1.config import MASK
from argosy.kernel.errors import Invalid
from argosy.platform.crypto import SecretBox
from argosy.services.config.domain.secrets import (
    get_at,
    map_secrets,
    secret_pointers,
    unescape,
)

__all__ = ["SecretCodec"]

_ENC = "$enc"


class SecretCodec:
    def __init__(self, box: SecretBox) -> None:
        self._box = box

    @staticmethod
    def _aad(service: str, namespace: str, pointer: str) -> str:
        return f"{service}/{namespace}#{pointer}"

    def encrypt(
        self, service: str, namespace: str, plain: dict[str, Any], schema: dict[str, Any]
    ) -> dict[str, Any]:
        def enc(pointer: str, value: Any) -> Any:
            if not isinstance(value, str):
                raise Invalid("a secret must be a string", field=_field(pointer))
            return {_ENC: self._box.encrypt(value, self._aad(service, namespace, pointer))}

        return map_secrets(plain, schema, enc)

    def decrypt(
        self, service: str, namespace: str, stored: dict[str, Any], schema: dict[str, Any]
    ) -> dict[str, Any]:
        def dec(pointer: str, value: Any) -> Any:
            if isinstance(value, dict) and set(value) == {_ENC}:
                return self._box.decrypt(value[_ENC], self._aad(service, namespace, pointer))
            return value

        return map_secrets(stored, schema, dec)

    @staticmethod
    def unmask(
        incoming: dict[str, Any], schema: dict[str, Any], current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A secret sent back as the mask keeps its current value (forms re-post masks)."""

        def keep(pointer: str, value: Any) -> Any:
            if value != MASK:
                return value
            try:
                kept = get_at(current, pointer) if current is not None else None
            except (KeyError, IndexError, TypeError, ValueError):
                kept = None
            if kept is None:
                raise Invalid("the mask was sent for a secret that has no stored value",
                              field=_field(pointer))
            return kept

        return map_secrets(incoming, schema, keep)

    @staticmethod
    def changed_secrets(
        before: dict[str, Any] | None, after: dict[str, Any], schema: dict[str, Any]
    ) -> list[str]:
        """Pointers of secrets present in both versions whose plaintext differs."""
        if before is None:
            return []
        old = set(secret_pointers(schema, before))
        return [p for p in secret_pointers(schema, after)
                if p in old and get_at(before, p) != get_at(after, p)]


def _field(pointer: str) -> str:
    return ".".join(["content", *(unescape(t) for t in pointer.split("/")[1:])])
