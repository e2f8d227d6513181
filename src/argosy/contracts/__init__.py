"""Wire contracts: service catalogue, HTTP header names, bus topics and API schemas (v1)."""
