"""Market data service (8081): Exchange feeds, clean continuous history, queries and streams
(issue #5).
"""
