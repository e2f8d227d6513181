"""What the notification service consumes and publishes on the bus.

Consumed, through one durable group (`notification`: each event to one instance, at least
once; intake is idempotent): the users events (verification, reset/invite, new-device
login, KYC), order fills and rejections, risk alerts and kill switches, strategy
deployments stopped on error, reports ready. Market data (`md.trade|ticker.<venue>.<sym>`)
is read as a live fan-out by the price-alert evaluator, only for watched instruments.

Published: `notification.inapp.<user_id>` for every in-app message (channels/inapp.py),
which the gateway forwards on the user's private `/ws` stream.
"""

from __future__ import annotations

from argosy.platform.bus.base import Bus, Subscription
from argosy.services.notification.domain.notices import CONSUMED_TOPICS
from argosy.services.notification.service.intake import Intake

__all__ = ["CONSUMED_TOPICS", "GROUP", "subscribe_events"]

GROUP = "notification"


#: the busy topics get `members` concurrent group members (intake commits what they hand
#: over together); the rest, a user's occasional login or report, get two
_BUSY = ("trading.", "risk.")


async def subscribe_events(bus: Bus, intake: Intake, members: int) -> list[Subscription]:
    subs = []
    for topic in CONSUMED_TOPICS:
        for _ in range(members if topic.startswith(_BUSY) else min(members, 2)):
            subs.append(await bus.subscribe(topic, intake.on_event, group=GROUP,
                                            max_deliver=10))
    return subs
