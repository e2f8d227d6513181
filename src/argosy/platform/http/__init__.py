"""HTTP plumbing shared by every service: error mapping, request context, health, metrics."""
