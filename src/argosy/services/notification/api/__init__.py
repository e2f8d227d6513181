"""HTTP routes: parse, call the use-case, map the result. No business rules here."""
