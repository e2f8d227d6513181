"""Notification service (8086): email, SMS, Web Push, webhooks, Telegram and in-app
messages (issue #9).

How a notification travels, and why each step is where it is:

- **Intake** (service/intake.py) turns a bus event into rows in one transaction, with the
  event's msg_id recorded in the processed-message table: inbox entries, digest items and
  *rendered* deliveries. Rendering at intake means a queued message is exactly what goes
  out even if a template changes during an outage. Concurrent events share a transaction.
- **Routing** (domain/routing.py) is pure: severity defaults, per-event overrides, quiet
  hours in the user's IANA zone, digests, transactional mail to the event's own address.
- **The queue** is the `deliveries` table (queue.py, service/dispatcher.py): claimed with
  SKIP LOCKED on PostgreSQL (one writer on SQLite) under a lease, sent through a channel
  behind a shared token bucket, finished with a token check; retries back off
  exponentially with jitter; a provider's 4xx is final. Idempotency keys (event, channel,
  recipient) keep a replay from queueing twice. Delivery is at least once: a process that
  dies between a provider's accept and the bookkeeping sends that one message again after
  its lease; mail carries `X-Argosy-Delivery` and webhooks the same header for receivers.
- **Channels** (channels/) are real protocol clients that report outcomes, never raise.
- **Price alerts** (service/price_watch.py) evaluate ticks in memory and touch the
  database only to fire, with a conditional update so instances notify once.
"""
