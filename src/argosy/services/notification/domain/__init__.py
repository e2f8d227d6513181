"""Pure rules of the notification service: the event catalogue, addresses, routing,
quiet hours and digests, retry decisions, webhook signatures and price-alert evaluation.

Nothing here does I/O, so each rule is tested with plain values and no server.
"""
