"""Shared test support: real servers on this machine, ports, the shared recorded data."""
