"""Which registered schema governs a namespace."""

from __future__ import annotations

import itertools

import pytest

from argosy.services.config.domain.namespaces import best_pattern, matches


@pytest.mark.parametrize(
    ("pattern", "namespace", "expected"),
    [
        ("settings", "settings", True),
        ("settings", "settings2", False),
        ("params/*", "params/grid-1", True),
        ("params/*", "params", False),  # a wildcard stands for exactly one segment
        ("params/*", "params/grid/1", False),
        ("*", "anything", True),
        ("*/*", "a/b", True),
        ("*/b", "a/c", False),
    ],
)
def test_matches(pattern: str, namespace: str, expected: bool) -> None:
    assert matches(pattern, namespace) is expected


def test_exact_name_beats_any_wildcard() -> None:
    patterns = ["*/*", "params/*", "params/grid-1", "*/grid-1"]
    assert best_pattern(patterns, "params/grid-1") == "params/grid-1"


def test_fewer_wildcards_win() -> None:
    assert best_pattern(["*/*", "params/*"], "params/grid-1") == "params/*"
    assert best_pattern(["*/*/*", "a/*/*", "a/b/*"], "a/b/c") == "a/b/*"


def test_no_match_is_none() -> None:
    assert best_pattern(["settings", "params/*"], "limits") is None
    assert best_pattern([], "limits") is None


def test_choice_does_not_depend_on_registration_order() -> None:
    patterns = ["*/grid-1", "params/*", "*/*"]
    answers = {best_pattern(list(p), "params/grid-1") for p in itertools.permutations(patterns)}
    assert len(answers) == 1
    assert answers != {"*/*"}


def test_accepts_a_mapping_of_patterns() -> None:
    assert best_pattern({"params/*": object(), "settings": object()}, "params/x") == "params/*"
