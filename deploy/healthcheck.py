"""The image's HEALTHCHECK: GET /healthz of the service this container runs; exit 0 or 1.

The service is `ARGOSY_SERVICE` when set, otherwise the word after `serve` on the command
line of PID 1 (`argosy serve risk`, also behind `docker run --init`). The port follows the
service's settings: ARGOSY_<SERVICE>_PORT, else ARGOSY_PORT_BASE plus the service's offset.
Settings are read here from the environment directly: this script runs beside the platform,
not inside it, and must stay cheap (it runs every few seconds).
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from argosy.contracts.services import service_info

__all__ = ["main", "port_of", "service_from_cmdline"]


def service_from_cmdline(cmdline: bytes) -> str | None:
    args = [a.decode(errors="replace") for a in cmdline.split(b"\0") if a]
    for i, arg in enumerate(args[:-1]):
        if arg == "serve":
            return args[i + 1]
    return None


def port_of(service: str, env: Mapping[str, str]) -> int:
    info = service_info(service)
    own = env.get(f"{info.env_prefix}PORT")
    if own:
        return int(own)
    return int(env.get("ARGOSY_PORT_BASE") or 8080) + info.port_offset


def main(env: Mapping[str, str] = os.environ, proc: Path = Path("/proc/1/cmdline")) -> int:
    name = env.get("ARGOSY_SERVICE") or service_from_cmdline(proc.read_bytes())
    if not name:
        print("healthcheck: cannot tell which service runs here; set ARGOSY_SERVICE")
        return 1
    url = f"http://127.0.0.1:{port_of(name, env)}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
