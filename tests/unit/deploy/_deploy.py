"""Reading the files of deploy/ without a YAML library (PyYAML is not a project dependency).

The compose files are read as text, in the indentation style they are written in; where the
machine has a Python with PyYAML, `system_yaml` parses them for real in a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
INFRA = frozenset({"postgres", "redis", "nats", "minio"})

_INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:\?|:-)([^}]*))?\}")


def load_module(path: Path) -> ModuleType:
    """Import a script of deploy/ by path (deploy/ is not a package)."""
    name = f"_deploy_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def uncommented(text: str) -> str:
    """The text without its comment lines (compose does not interpolate them)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def interpolations(text: str) -> list[tuple[str, str, str]]:
    """Every `${NAME}`, `${NAME:?message}`, `${NAME:-default}` outside comment lines, as
    (name, operator, rest)."""
    return [(m[1], m[2] or "", m[3] or "") for m in _INTERPOLATION.finditer(uncommented(text))]


def interpolate(value: str, env: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name, op, rest = m[1], m[2], m[3]
        if env.get(name):
            return env[name]
        if op == ":-":
            return rest
        raise KeyError(f"{name}: {rest}")

    return _INTERPOLATION.sub(one, value)


def scalar(raw: str) -> str:
    """A YAML scalar as written in our files: "double" (JSON-compatible), 'single' or plain."""
    raw = raw.strip()
    if raw.startswith('"'):
        return str(json.loads(raw))
    if raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    return re.sub(r"\s+#.*$", "", raw)


def block(text: str, header: str) -> list[str]:
    """The lines under `header` (a line of the file), up to the next line indented as much."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip() == header)
    indent = len(header) - len(header.lstrip())
    out = []
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        out.append(line)
    return out


def mapping(lines: list[str]) -> dict[str, str]:
    """`KEY: value` lines one level deep (comments and blank lines skipped)."""
    out = {}
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, _, value = stripped.partition(":")
        out[key] = scalar(value)
    return out


def compose_services(text: str) -> dict[str, str]:
    """Service name -> the text of its block in a compose file."""
    services = block(text, "services:")
    names = [i for i, line in enumerate(services) if re.match(r"^  [a-z][a-z0-9-]*:$", line)]
    return {
        services[i].strip().rstrip(":"): "\n".join(services[i + 1:end])
        for i, end in zip(names, [*names[1:], len(services)], strict=True)
    }


def system_yaml(*paths: Path) -> list[list[Any]] | None:
    """The documents of each file as PyYAML's safe_load_all reads them, via a Python on this
    machine that has PyYAML; None when there is none."""
    for exe in ("python3", "/usr/bin/python3"):
        found = shutil.which(exe)
        if not found:
            continue
        code = (
            "import json, sys, yaml\n"
            "print(json.dumps([list(yaml.safe_load_all(open(p))) for p in sys.argv[1:]]))\n"
        )
        done = subprocess.run(
            [found, "-c", code, *map(str, paths)], capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            result: list[list[Any]] = json.loads(done.stdout)
            return result
    return None
