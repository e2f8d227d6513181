"""Typed HTTP clients for calling other Argosy services (they never import each other)."""

from argosy.platform.clients.base import ServiceClient

__all__ = ["ServiceClient"]
