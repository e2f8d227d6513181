"""The `/ws` hub: one connection per client, one bus subscription per channel."""
