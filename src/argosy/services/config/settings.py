"""Settings of the config service (env prefix ARGOSY_CONFIG_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["ConfigServiceSettings"]


class ConfigServiceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_CONFIG_", extra="ignore", frozen=True)

    master_key_file: Path | None = Field(
        None, description="32-byte hex key encrypting secrets (default: generated in data dir)."
    )
    old_key_files: tuple[Path, ...] = Field(
        (), description="Retired master keys still needed to decrypt (JSON list of paths)."
    )
    max_document_bytes: int = Field(262_144, ge=1024, le=16_777_216)
