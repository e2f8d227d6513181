"""Infrastructure shared by every service: settings, logging, metrics, HTTP, data layer, bus.

No business rules live here. Each data-layer piece is a small interface with two real
implementations chosen by URL in settings.
"""
