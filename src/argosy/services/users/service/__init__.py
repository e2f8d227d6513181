"""Use-cases of the users service, one module per area. Each public method is one
transaction: its rows, its audit entry and its outbox events commit together or not at all.
"""
