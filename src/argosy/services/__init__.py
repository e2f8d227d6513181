"""The nine Argosy services. Each is its own process; none imports another."""
