"""Object storage: one interface, two backends (local directory, S3), chosen by URL."""

from argosy.platform.objects.base import DEFAULT_CONTENT_TYPE, ObjectInfo, ObjectStore
from argosy.platform.objects.factory import OBJECTS_SCHEMES, create_object_store

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "OBJECTS_SCHEMES",
    "ObjectInfo",
    "ObjectStore",
    "create_object_store",
]
