"""`argosy config ...` and `argosy token`: operate the config service as an operator."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from argosy.contracts import headers as h
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret
from argosy.platform.settings import PlatformSettings, load_settings

__all__ = ["app", "token"]

app = typer.Typer(help="Read and change configuration documents.", no_args_is_help=True)
console = Console()

_OPERATOR_PERMS = frozenset({"config:*", "ops:read"})


def _auth(platform: PlatformSettings) -> InternalAuth:
    path = platform.internal_secret_file or platform.data_path / "secrets" / "internal.key"
    if not path.exists():
        raise typer.BadParameter(f"no internal secret at {path}; has the platform started?")
    return InternalAuth(read_secret(path))


def _operator(perms: frozenset[str] = _OPERATOR_PERMS) -> Principal:
    return Principal(f"operator:{getpass.getuser()}", perms)


def token(
    permission: Annotated[list[str] | None, typer.Option("--perm", help="Repeatable.")] = None,
    ttl: Annotated[int, typer.Option(help="Seconds")] = 3600,
) -> None:
    """Print an operator identity token for the x-argosy-identity header (curl, scripts)."""
    platform = load_settings(PlatformSettings)
    perms = frozenset(permission) if permission else _OPERATOR_PERMS
    print(_auth(platform).mint(_operator(perms), ttl_s=ttl))


def _call(method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
    platform = load_settings(PlatformSettings)
    tok = _auth(platform).mint(_operator(), ttl_s=60)
    url = f"{platform.url_of('config')}/api/v1/config{path}"
    try:
        resp = httpx.request(method, url, json=body, params=params, headers={h.IDENTITY: tok})
    except httpx.TransportError as exc:
        console.print(f"config service unreachable at {url}: {exc}", style="red")
        raise typer.Exit(1) from None
    if resp.status_code >= 400:
        err = resp.json().get("error", {})
        field = f" (field {err.get('field')})" if err.get("field") else ""
        console.print(f"{resp.status_code} {err.get('code')}: {err.get('message')}{field}",
                      style="red", markup=False)
        raise typer.Exit(1)
    return resp.json() if resp.content else None


@app.command("get")
def get(service: str, namespace: str) -> None:
    """Show the current document (secrets masked)."""
    console.print_json(data=_call("GET", f"/documents/{service}/{namespace}"))


@app.command("set")
def set_(
    service: str,
    namespace: str,
    content: Annotated[str | None, typer.Option("--json", help="Document as JSON text.")] = None,
    file: Annotated[Path | None, typer.Option(help="Document from a JSON file.")] = None,
    comment: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create or replace a document; it is validated against the owning service's schema."""
    if (content is None) == (file is None):
        raise typer.BadParameter("give exactly one of --json or --file")
    text = content if content is not None else Path(str(file)).read_text()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}") from None
    out = _call("PUT", f"/documents/{service}/{namespace}", {"content": doc, "comment": comment})
    console.print(f"{service}/{namespace} is at version {out['version']}")


@app.command("history")
def history(service: str, namespace: str, limit: int = 20) -> None:
    """List versions with author, time and diff."""
    out = _call("GET", f"/documents/{service}/{namespace}/history", params={"limit": str(limit)})
    for v in out["items"]:
        console.print(f"v{v['version']} {v['action']} by {v['author']} at {v['created_at']}"
                      f"{' — ' + v['comment'] if v.get('comment') else ''}", markup=False)
        for op in v["diff"]:
            console.print(f"    {op['op']} {op['path']} {json.dumps(op.get('value'))}",
                          markup=False)


@app.command("rollback")
def rollback(service: str, namespace: str, version: int, comment: str | None = None) -> None:
    """Make an earlier version current again."""
    out = _call("POST", f"/documents/{service}/{namespace}/rollback",
                {"version": version, "comment": comment})
    console.print(f"{service}/{namespace} restored to v{version} as v{out['version']}")


@app.command("rotate-key")
def rotate_key() -> None:
    """Retire the master key that encrypts config secrets and re-encrypt every one of them."""
    out = _call("POST", "/admin/keys/rotate")
    moved = sum(out["values_by_old_kid"].values())
    console.print(f"master key {out['old_kid']} retired; now {out['current']}; "
                  f"{moved} secrets in {out['versions']} versions re-encrypted", markup=False)
