"""The /ws protocol: commands, channel names and the bus topics behind them."""

from __future__ import annotations

import json

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.gateway.domain.channels import Command, parse_command, resolve_channel


@pytest.mark.parametrize(("name", "topic"), [
    ("market.trade.BTC-USDT.binance", "md.trade.binance.BTC-USDT"),
    ("market.book.ETH-USDT-PERP.binance", "md.book.binance.ETH-USDT-PERP"),
    ("market.ticker.BTC-USDT.kraken", "md.ticker.kraken.BTC-USDT"),
    ("market.bar.1m.BTC-USDT.binance", "md.bar.1m.binance.BTC-USDT"),
    ("market.bar.4h.BTC-USDT.binance", "md.bar.4h.binance.BTC-USDT"),
])
def test_market_channels(name: str, topic: str) -> None:
    ch = resolve_channel(name, account=None, user_id="u1")
    assert (ch.topic, ch.permission, ch.account) == (topic, "market:read", None)


@pytest.mark.parametrize("name", [
    "market.trade.*.binance", "market.trade.>", "market.trade.BTC-USDT.*",
    "market.trade.BTC-USDT", "market.candle.BTC-USDT.binance", "market.bar.1x.BTC-USDT.binance",
    "market.bar.BTC-USDT.binance", "market.trade.BTC USDT.binance", "market.",
])
def test_wildcards_and_bad_names_never_reach_the_bus(name: str) -> None:
    with pytest.raises(Invalid):
        resolve_channel(name, account=None, user_id="u1")


def test_private_channels_need_an_account_and_map_to_trading_topics() -> None:
    for name, kind in (("orders", "order"), ("fills", "fill"), ("positions", "position")):
        ch = resolve_channel(name, account="acc-1", user_id="u1")
        assert (ch.topic, ch.permission, ch.account) == (f"trading.{kind}.acc-1",
                                                         "orders:read", "acc-1")
    for account in (None, "", "a.b", "*", ">"):
        with pytest.raises(Invalid):
            resolve_channel("orders", account=account, user_id="u1")


def test_notifications_are_the_users_own() -> None:
    ch = resolve_channel("notifications", account="ignored", user_id="u-42")
    assert (ch.topic, ch.permission) == ("notification.inapp.u-42", "notifications:read")
    with pytest.raises(Invalid):
        resolve_channel("notifications", account=None, user_id="u.42")
    with pytest.raises(Invalid, match="unknown channel"):
        resolve_channel("balances", account=None, user_id="u1")


def test_commands() -> None:
    assert parse_command('{"op":"subscribe","channel":"orders","account":"a1","id":7}') == \
        Command("subscribe", "orders", "a1", None, "7")
    assert parse_command(json.dumps({"op": "auth", "token": "t"})).token == "t"
    assert parse_command(b'{"op":"pong"}').op == "pong"


@pytest.mark.parametrize(("raw", "field"), [
    ("nope", "message"), ("[1]", "message"), ('{"op":"dance"}', "op"),
    ('{"op":"subscribe"}', "channel"), ('{"op":"auth"}', "token"),
    ('{"op":"subscribe","channel":5}', "channel"), ('{"op":"ping","id":"a b"}', "id"),
    ("{" + " " * 20000 + "}", "message"),
])
def test_bad_commands_name_the_field(raw: str, field: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_command(raw)
    assert err.value.field == field
