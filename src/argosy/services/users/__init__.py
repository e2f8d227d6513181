"""Users service (8083): Identity, organisations, RBAC, accounts, credential vault, KYC (issue
#4).
"""
