"""The `argosy` command (typer + rich)."""
