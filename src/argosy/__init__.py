"""Argosy: an open, self-hosted crypto trading platform."""
