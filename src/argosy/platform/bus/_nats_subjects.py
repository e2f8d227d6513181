"""Where Argosy topics live on a NATS server: subjects, streams and consumer filters.

A namespace (empty in production) prefixes every subject and suffixes every stream name, so
several deployments, or a test run, can share one server without their streams claiming
the same subjects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from argosy.contracts import headers as h
from argosy.contracts.topics import STREAMS, StreamSpec, stream_for

__all__ = ["MSG_ID_HEADER", "StreamTarget", "SubjectMap", "incoming_headers"]

MSG_ID_HEADER = "Nats-Msg-Id"  # JetStream dedupes on it within the stream's duplicate window
_NAMESPACE = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class StreamTarget:
    """The part of one stream a pattern covers, as server subjects."""

    stream: str
    subjects: tuple[str, ...]
    whole_stream: bool

    @property
    def filter_subject(self) -> str | None:
        """The consumer filter; None reads the whole stream (a NATS 2.9 consumer has one)."""
        return None if self.whole_stream else self.subjects[0]


class SubjectMap:
    """Translate topics and patterns to subjects and streams, and back."""

    def __init__(self, namespace: str = "") -> None:
        if namespace and not _NAMESPACE.fullmatch(namespace):
            raise ValueError(f"invalid namespace {namespace!r}: letters, digits, - and _ only")
        self.namespace = namespace
        self._prefix = f"{namespace}." if namespace else ""

    def subject(self, topic: str) -> str:
        return self._prefix + topic

    def topic(self, subject: str) -> str:
        return subject[len(self._prefix):] if subject.startswith(self._prefix) else subject

    def stream_name(self, spec: StreamSpec) -> str:
        return f"{spec.name}_{self.namespace}" if self.namespace else spec.name

    def stream_subjects(self, spec: StreamSpec) -> list[str]:
        # the bare root too, so a one-token topic that validate_topic accepts is storable
        root = self._prefix + spec.root
        return [root, f"{root}.>"]

    def targets(self, pattern: str) -> list[StreamTarget]:
        """Per stream, the subjects that together match `pattern` (a wildcard root spans all)."""
        first, _, rest = pattern.partition(".")
        if first not in ("*", ">"):
            spec = stream_for(pattern)
            return [StreamTarget(self.stream_name(spec), (self.subject(pattern),), False)]
        found = []
        for spec in STREAMS:
            if first == ">":
                found.append(
                    StreamTarget(self.stream_name(spec), tuple(self.stream_subjects(spec)), True)
                )
            else:
                topic = f"{spec.root}.{rest}" if rest else spec.root
                found.append(StreamTarget(self.stream_name(spec), (self.subject(topic),), False))
        return found


def incoming_headers(raw: Mapping[str, str] | None) -> tuple[dict[str, str], str]:
    """The message's own headers (NATS control headers dropped) and its message id."""
    hdrs = {k: v for k, v in (raw or {}).items() if not k.lower().startswith("nats-")}
    return hdrs, hdrs.get(h.MESSAGE_ID) or (raw or {}).get(MSG_ID_HEADER, "")
