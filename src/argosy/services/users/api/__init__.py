"""REST routes of the users service, one module per area: parse, call a use-case, map."""
