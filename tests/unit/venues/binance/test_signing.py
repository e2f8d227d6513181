"""HMAC signing against Binance's documented example, and the server-clock offset."""

from __future__ import annotations

from argosy.kernel.clock import SimClock
from argosy.venues.binance._signing import Credentials, ServerClock, sign, signed_query

# "SIGNED Endpoint Examples for POST /api/v3/order" in Binance's spot REST docs.
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_QUERY = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
             "&recvWindow=5000&timestamp=1499827319559")
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
MS = 1_000_000


def test_signature_matches_the_documented_example() -> None:
    assert sign(DOC_SECRET, DOC_QUERY) == DOC_SIGNATURE


def test_signed_query_signs_exactly_what_it_sends() -> None:
    params = [("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
              ("quantity", "1"), ("price", "0.1"), ("recvWindow", "5000"),
              ("timestamp", "1499827319559")]
    assert signed_query(params, DOC_SECRET) == f"{DOC_QUERY}&signature={DOC_SIGNATURE}"
    encoded = signed_query([("newClientOrderId", "a b/c")], "s")
    query, _, signature = encoded.partition("&signature=")
    assert query == "newClientOrderId=a+b%2Fc"
    assert signature == sign("s", query)


def test_credentials_never_print_the_secret() -> None:
    assert DOC_SECRET not in repr(Credentials("key", DOC_SECRET))


def test_offset_is_measured_at_the_midpoint_of_the_round_trip() -> None:
    local = SimClock(1_000_000 * MS)  # the host's clock
    clock = ServerClock(local, max_age_s=60)
    assert clock.needs_sync()
    # sent at local 1 000 000 ms, answered 40 ms later; the server said 1 010 020 ms
    clock.update(1_010_020, 1_000_000 * MS, 1_000_040 * MS)
    assert clock.offset_ms == 10_000
    assert clock.rtt_ms == 40
    local.set_ns(1_000_040 * MS)
    assert clock.now_ms() == 1_010_040
    assert not clock.needs_sync()
    local.advance(60_000 * MS)
    assert clock.needs_sync()  # refreshed periodically
    clock.invalidate()
    assert clock.needs_sync()


def test_testnet_switch_and_overrides() -> None:
    from argosy.venues.binance.execution import BinanceExecution, ExecutionSettings
    from argosy.venues.binance.markets import BinanceMarket
    from argosy.venues.execution import ExecutionVenue

    creds = Credentials("k", "s")
    live: ExecutionVenue = BinanceExecution(BinanceMarket.USDM, creds)  # mypy: the protocol
    assert isinstance(live, BinanceExecution)
    assert (live.rest_url, live.ws_url) == ("https://fapi.binance.com",
                                            "wss://fstream.binance.com")
    test = BinanceExecution(BinanceMarket.SPOT, creds, settings=ExecutionSettings(testnet=True))
    assert (test.rest_url, test.ws_url) == ("https://testnet.binance.vision",
                                            "wss://stream.testnet.binance.vision")
    local = BinanceExecution(BinanceMarket.SPOT, creds, settings=ExecutionSettings(
        testnet=True, rest_url="http://127.0.0.1:1", ws_url="ws://127.0.0.1:1"))
    assert local.rest_url == "http://127.0.0.1:1"
