"""Market data rules with no I/O: cleaning, bars, queries, continuity, archive rows."""
