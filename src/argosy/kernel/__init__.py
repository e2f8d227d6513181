"""Pure domain types shared by every service: money, instruments, ids, clocks, errors, messages.

Nothing here performs I/O or imports a framework; import-linter enforces it.
"""
