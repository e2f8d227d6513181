"""What the risk service consumes and publishes on the bus.

Consumed: `trading.fill.*`, `trading.position.*`, `trading.balance.*` through the durable
group `risk` (at least once; the book is idempotent for positions and balances, and a
repeated fill is corrected by the next position event); `users.account.created` in the
same group (each account's owner, known before it trades); `md.ticker.>` and `md.trade.>` as a
live fan-out for marks; `risk.rules.changed` as a fan-out so every instance reloads.

Published (through the outbox): `risk.rules.changed` (contracts/v1/risk.py RulesChanged,
the whole new rule set) on every rules or kill-switch change, and `risk.alert.<severity>`
(contracts/v1/events.py RiskAlert) for every breach, action, stop trigger and kill switch,
and `risk.exposure.<account>` (RiskExposure) when an account's numbers change, at most once
per account per `exposure_publish_s` (service/stream.py); the gateway's `/ws` channel `risk`
forwards it. Owners from `users.account.created` are stored (`account_owners`).
"""

from __future__ import annotations

from argosy.contracts.topics import RISK_RULES_CHANGED, USERS_EVENTS
from argosy.platform.bus.base import Bus, Envelope, Subscription
from argosy.services.risk.service.realtime import RealTime
from argosy.services.risk.service.rules import RulesService

__all__ = ["GROUP", "TRADING_TOPICS", "subscribe_events"]

GROUP = "risk"
TRADING_TOPICS = ("trading.fill.*", "trading.position.*", "trading.balance.*")
MARKET_TOPICS = ("md.ticker.>", "md.trade.>")


async def subscribe_events(
    bus: Bus, rt: RealTime, rules: RulesService, members: int
) -> list[Subscription]:
    async def reload(_env: Envelope) -> None:
        await rules.load()

    subs = []
    for topic in TRADING_TOPICS:
        for _ in range(members):
            subs.append(await bus.subscribe(topic, rt.on_trading, group=GROUP, max_deliver=10))
    for _ in range(members):  # account owners, for the organisation checks
        subs.append(await bus.subscribe(USERS_EVENTS["account_created"], rt.on_account,
                                        group=GROUP, max_deliver=10))
    for topic in MARKET_TOPICS:
        subs.append(await bus.subscribe(topic, rt.on_market))
    subs.append(await bus.subscribe(RISK_RULES_CHANGED, reload))
    return subs
