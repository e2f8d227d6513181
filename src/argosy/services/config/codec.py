"""Secrets in stored documents: encrypted on the way in, decrypted or masked on the way out.

A stored secret is `{"$enc": "<SecretBox token>"}`, bound to its service, namespace and
JSON pointer as associated data, so a ciphertext copied elsewhere fails to decrypt.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from argosy.contracts.v1.config import MASK
from argosy.kernel.errors import Invalid
from argosy.platform.crypto import SecretBox
from argosy.services.config.domain.secrets import (
    escape,
    get_at,
    map_secrets,
    secret_pointers,
    set_at,
    unescape,
)

__all__ = ["SecretCodec"]

_ENC = "$enc"


class SecretCodec:
    def __init__(self, box: SecretBox) -> None:
        self._box = box

    @property
    def box(self) -> SecretBox:
        return self._box

    def replace_box(self, box: SecretBox) -> None:
        """After a key rotation: new values use the new key, old ones still decrypt."""
        self._box = box

    def reencrypt(
        self, service: str, namespace: str, stored: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """Re-encrypt every stored secret not made with the current key, wherever it is in
        the document (schema-independent, so secrets of old schemas move too).
        Returns the new document and the count of values moved per old key id."""
        moved: dict[str, int] = {}
        out = copy.deepcopy(stored)
        for pointer, token in list(_encrypted(out, "")):
            kid = SecretBox.kid_of(token)
            if kid == self._box.kid:
                continue
            aad = self._aad(service, namespace, pointer)
            set_at(out, pointer, {_ENC: self._box.encrypt(self._box.decrypt(token, aad), aad)})
            moved[kid] = moved.get(kid, 0) + 1
        return out, moved

    @staticmethod
    def key_ids_in(stored: dict[str, Any]) -> dict[str, int]:
        """How many stored secrets each key id protects in one document."""
        counts: dict[str, int] = {}
        for _pointer, token in _encrypted(stored, ""):
            kid = SecretBox.kid_of(token)
            counts[kid] = counts.get(kid, 0) + 1
        return counts

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


def _encrypted(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if set(node) == {_ENC} and isinstance(node[_ENC], str):
            yield path, node[_ENC]
            return
        for key, value in node.items():
            yield from _encrypted(value, f"{path}/{escape(str(key))}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _encrypted(value, f"{path}/{i}")


def _field(pointer: str) -> str:
    return ".".join(["content", *(unescape(t) for t in pointer.split("/")[1:])])
