"""The one-way architecture (README "Architecture"), checked on the source itself.

`lint-imports` (pyproject's contracts, run by `make test`) keeps the layers; these tests add what it
does not check: no import cycle between any two files or packages, counting imports inside functions
and under `TYPE_CHECKING` (a cycle held together by function-level imports is still a cycle), and
that the offline paths load none of the service's heavy machinery.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("foundation", "privacy", "storage", "tools", "agents", "graph", "api", "evals", "cli", "sandbox", "prompts")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of ours that `module` imports, anywhere in the file."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - (node.level - (1 if is_package else 0))]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
                break
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(iter(children), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _file_graph() -> dict[str, set[str]]:
    known = _modules()
    return {module: _imported(module, path, known) for module, path in known.items()}


def test_no_import_cycle_between_files() -> None:
    assert _cycles(_file_graph()) == []


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in _file_graph().items():
        packages[module.split(".")[0]] |= {t.split(".")[0] for t in targets} - {module.split(".")[0]}
    assert _cycles(packages) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


HEAVY = ("fastapi", "starlette", "uvicorn", "alembic", "boto3", "botocore", "api")


def _loaded_by(code: str, tmp_path: Path) -> list[str]:
    """The heavy modules a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    env = {"CMO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "SANDBOX_USERS": "200"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    return sorted(loaded & set(HEAVY))


@pytest.mark.slow
def test_cmo_run_loads_no_service_machinery(tmp_path: Path) -> None:
    """`cmo run` (here: its command, end to end on a small sandbox world) never imports the web
    framework, the migrations, the KMS SDK or the service's ORM (all of `api`)."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        f"result = CliRunner().invoke(app, ['run', 'Find Python maintainers active in ML', '--json', '--max-prospects', '3', '--out', {str(tmp_path / 'out')!r}])\n"
        "assert result.exit_code == 0, (result.exit_code, result.output[-2000:])"
    )
    assert _loaded_by(code, tmp_path) == []


def test_cmo_help_loads_neither_the_service_nor_the_graph(tmp_path: Path) -> None:
    """`cmo --help` is fast because it imports only the command tree (every heavy import is lazy)."""
    code = (
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0 and 'run' in result.output, result.output"
    )
    done = _loaded_by(
        code + "\nimport sys\nassert 'langgraph' not in sys.modules and 'sqlalchemy' not in sys.modules, 'heavy'", tmp_path
    )
    assert done == []
