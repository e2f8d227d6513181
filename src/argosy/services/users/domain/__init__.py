"""Pure rules of the users service: no I/O, no framework, testable without a server.

Only the standard library, `argosy.kernel` and `argosy.contracts` are imported here
(import-linter enforces it); hashing with Argon2, JWT signing and encryption live outside.
"""
