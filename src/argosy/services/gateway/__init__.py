"""API gateway (8080): Single entry point for clients: routing, authentication, rate limits and
the WebSocket hub (issue #4).
"""
