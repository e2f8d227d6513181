"""HTTP routes of the risk service."""
