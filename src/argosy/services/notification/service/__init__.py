"""Use-cases of the notification service; each write is one transaction."""
