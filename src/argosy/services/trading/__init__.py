"""Trading engine (8082): Orders, fills, positions and accounts; durable before anything leaves
(issue #6).
"""
