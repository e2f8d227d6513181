"""MarketEvents stops when cancelled even if the bus client swallows the cancel.

nats-py's forced flush (a publish over its pending-bytes limit) catches CancelledError and
returns; a loop that relied on the cancel alone kept publishing forever, so a stop hung
(seen in bench.market_service_ingest under load). The bus here reproduces exactly that
behaviour of the client on top of the real in-memory bus."""

from __future__ import annotations

import asyncio
import contextlib

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side, TradeTick
from argosy.kernel.money import Price, Quantity
from argosy.platform.bus.memory import MemoryBus
from argosy.services.market_data.events import MarketEvents

IID = InstrumentId.parse("BTC-USDT.binance")


class _SwallowingBus(MemoryBus):
    """Every publish waits like a forced flush and, like nats-py, eats a cancel."""

    async def _publish(self, topic: str, data: bytes, headers: dict[str, str], msg_id: str
                       ) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.01)
        await super()._publish(topic, data, headers, msg_id)


async def test_a_swallowed_cancel_still_stops_the_loop() -> None:
    bus = _SwallowingBus()
    await bus.connect()
    events = MarketEvents(bus, interval_s=0.01, max_items=1)
    task = asyncio.create_task(events.run())
    for n in range(100):  # one-item batches: the loop is inside a publish most of the time
        events.trade(TradeTick(IID, Price("100"), Quantity("1"), Side.BUY, str(n), n, n))
        if n % 25 == 0:
            await asyncio.sleep(0.03)
    await asyncio.sleep(0.05)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done, "MarketEvents.run kept running after cancel"
    assert task.cancelled()
    assert events.published > 0
    await bus.close()
