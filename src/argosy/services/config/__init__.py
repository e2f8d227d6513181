"""Config service (8088): versioned, validated, audited configuration pushed live."""
