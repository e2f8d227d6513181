"""Config service API (/api/v1/config) and its `config.changed.<service>` event."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "MASK",
    "SECRET_KEYWORD",
    "AuditEntry",
    "ConfigChanged",
    "DocumentOut",
    "DocumentRef",
    "DocumentWrite",
    "NamespaceSchema",
    "RollbackRequest",
    "SchemaRegistration",
    "VersionOut",
    "valid_namespace",
]

# A property whose JSON schema carries this keyword is stored encrypted and shown masked.
SECRET_KEYWORD = "x-argosy-secret"  # noqa: S105 (a JSON Schema keyword, not a secret)
MASK = "********"

_SEGMENT = r"[a-z0-9][a-z0-9_.-]{0,63}"
_NAMESPACE = re.compile(rf"^{_SEGMENT}(/{_SEGMENT}){{0,3}}$")
_PATTERN = re.compile(rf"^({_SEGMENT}|\*)(/({_SEGMENT}|\*)){{0,3}}$")


def valid_namespace(value: str, *, pattern: bool = False) -> str:
    rx = _PATTERN if pattern else _NAMESPACE
    if not rx.match(value):
        kind = "namespace pattern" if pattern else "namespace"
        raise ValueError(
            f"invalid {kind} {value!r}: 1-4 '/'-separated segments of lowercase letters, "
            "digits, '_', '-', '.'" + (" or '*'" if pattern else "")
        )
    parts = value.split("/")  # the API reads these as …/history and …/versions/<n>
    if len(parts) > 1 and (parts[-1] == "history" or parts[-2] == "versions"):
        raise ValueError(
            f"namespace {value!r} clashes with the API's …/history or …/versions/<n> paths"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NamespaceSchema(_Strict):
    namespace: str = Field(description="Namespace or pattern, e.g. `settings`, `params/*`.")
    json_schema: dict[str, Any] = Field(alias="schema", description="JSON Schema 2020-12.")
    description: str = Field("", max_length=500)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        return valid_namespace(v, pattern=True)


class SchemaRegistration(_Strict):
    namespaces: list[NamespaceSchema] = Field(min_length=1, max_length=100)


class DocumentWrite(_Strict):
    content: dict[str, Any]
    comment: str | None = Field(None, max_length=500)
    expected_version: int | None = Field(
        None, ge=0, description="Optimistic lock: the version you read (0 = must not exist)."
    )


class RollbackRequest(_Strict):
    version: int = Field(ge=1)
    comment: str | None = Field(None, max_length=500)


class DocumentRef(BaseModel):
    service: str
    namespace: str
    version: int
    updated_at: str
    deleted: bool = False


class DocumentOut(BaseModel):
    service: str
    namespace: str
    version: int
    content: dict[str, Any]
    author: str
    updated_at: str
    secrets: list[str] = Field(default_factory=list, description="JSON pointers of secrets.")
    revealed: bool = False


class VersionOut(BaseModel):
    version: int
    action: Literal["create", "update", "rollback", "delete"]
    author: str
    created_at: str
    comment: str | None
    diff: list[dict[str, Any]] = Field(description="RFC 6902 patch from the previous version.")
    rolled_back_to: int | None = None


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    service: str
    namespace: str | None
    version: int | None
    request_id: str | None
    detail: dict[str, Any]


class ConfigChanged(BaseModel):
    """Payload of `config.changed.<service>`: fetch the document to get its content."""

    service: str
    namespace: str
    version: int
    action: str
    author: str
    changed_ns: int
