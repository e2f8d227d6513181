"""Verifying who is calling: internal service-to-service identity tokens."""

from argosy.platform.auth.internal import InternalAuth, Principal

__all__ = ["InternalAuth", "Principal"]
