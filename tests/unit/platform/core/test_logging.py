"""Logging: one JSON object per line on stdout, ids from context, secrets never printed."""

from __future__ import annotations

import logging

import pytest
import structlog

from argosy.platform.logging import MASK, current_level, redact, set_level
from tests.unit.platform.core._capture import ReadLogs

SECRET = "s3cr3t-Value-0042"


def test_lines_are_json_with_level_logger_service_and_time(json_logs: ReadLogs) -> None:
    structlog.get_logger("argosy.test").info("order.placed", qty="1.5", n=3)
    logging.getLogger("some.library").warning("plain %s message", "stdlib")
    first, second = json_logs()
    assert first["event"] == "order.placed"
    assert (first["level"], first["logger"], first["service"]) == ("info", "argosy.test", "testsvc")
    assert (first["qty"], first["n"]) == ("1.5", 3)
    assert first["timestamp"].endswith("Z")
    assert second["event"] == "plain stdlib message"
    assert (second["level"], second["logger"]) == ("warning", "some.library")


def test_request_and_correlation_ids_from_context(json_logs: ReadLogs) -> None:
    with structlog.contextvars.bound_contextvars(request_id="req-1", correlation_id="corr-9"):
        structlog.get_logger("a").info("inside")
        logging.getLogger("b").info("stdlib inside")
    structlog.get_logger("a").info("outside")
    inside, stdlib_inside, outside = json_logs()
    for line in (inside, stdlib_inside):
        assert (line["request_id"], line["correlation_id"]) == ("req-1", "corr-9")
    assert "request_id" not in outside


@pytest.mark.parametrize(
    "key",
    ["password", "db_password", "client_secret", "token", "refresh_token", "api_key",
     "X-API-Key", "apiKey", "authorization", "Authorization"],
)
def test_redact_masks_secret_keys(key: str) -> None:
    out = redact(None, "info", {"event": "e", key: SECRET, "user": "alice"})
    assert out[key] == MASK
    assert out["user"] == "alice"


def test_redact_keeps_empty_values_visible() -> None:
    out = redact(None, "info", {"event": "e", "password": None, "token": ""})
    assert (out["password"], out["token"]) == (None, "")


@pytest.mark.parametrize(
    "text",
    [
        f"calling with Authorization: Bearer {SECRET}",
        f"header bearer {SECRET} rejected",
        f"Basic {SECRET}",
        f"postgresql://argosy:{SECRET}@db:5432/argosy unreachable",
        f"GET /x?api_key={SECRET}&page=2",
        f'body {{"password": "{SECRET}"}}',
        f"login failed: password={SECRET}",
    ],
)
def test_redact_masks_credentials_inside_strings(text: str) -> None:
    out = redact(None, "info", {"event": text, "detail": text})
    assert SECRET not in out["event"]
    assert SECRET not in out["detail"]
    assert MASK in out["detail"]


def test_redact_masks_nested_structures() -> None:
    event = {
        "event": "call",
        "request": {"headers": {"authorization": SECRET, "accept": "json"}, "url": "/x"},
        "attempts": [{"token": SECRET}, f"Bearer {SECRET}"],
        "pair": ("ok", f"password={SECRET}"),
    }
    out = redact(None, "info", event)
    assert SECRET not in repr(out)
    assert out["request"]["headers"]["accept"] == "json"
    assert out["request"]["url"] == "/x"
    assert isinstance(out["pair"], tuple)


def test_secrets_never_reach_stdout(
    json_logs: ReadLogs, capsys: pytest.CaptureFixture[str]
) -> None:
    log = structlog.get_logger("argosy.test")
    log.info("login", password=SECRET, headers={"Authorization": f"Bearer {SECRET}"})
    log.info(f"token={SECRET} in the message")
    logging.getLogger("lib").info("connecting to redis://:%s@cache:6379/0", SECRET)
    logging.getLogger("lib").warning("auth header Bearer %s", SECRET)
    try:
        raise ConnectionError(f"postgresql://u:{SECRET}@h/db refused")
    except ConnectionError:
        log.exception("db.failed")
        logging.getLogger("lib").exception("stdlib failure with api_key=%s", SECRET)
    raw = capsys.readouterr().out
    assert raw.count("\n") == 6
    assert SECRET not in raw
    assert "ConnectionError" in raw  # the traceback is still there, only the secret is not


def test_set_level_changes_the_root_level_live(json_logs: ReadLogs) -> None:
    log = structlog.get_logger("argosy.test")
    set_level("warning")
    assert current_level() == "warning"
    assert logging.getLogger().level == logging.WARNING
    log.info("hidden")
    logging.getLogger("lib").info("hidden too")
    log.warning("shown")
    set_level("DEBUG")
    assert current_level() == "debug"
    log.debug("shown at debug")
    logging.getLogger("lib").debug("stdlib debug shown")
    events = [line["event"] for line in json_logs()]
    assert events == ["shown", "shown at debug", "stdlib debug shown"]


def test_noisy_libraries_stay_at_info_under_debug(json_logs: ReadLogs) -> None:
    set_level("debug")
    assert logging.getLogger("aiosqlite").getEffectiveLevel() == logging.INFO
    set_level("error")
    assert logging.getLogger("aiosqlite").getEffectiveLevel() == logging.ERROR
