"""Architecture rules held by the imports: operators know nothing of Ray or the engine (the engine
runs them; docs/operators.md), and only the engine's cluster module and the job submitter import Ray."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "curation"


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def test_operators_import_neither_ray_nor_the_layers_above_them():
    above = ("ray", "curation.engine", "curation.commands", "curation.cli")
    bad = {f"{p.relative_to(PKG)}: {m}" for p in (PKG / "operators").rglob("*.py") for m in _imports(p)
           if any(m == a or m.startswith(a + ".") for a in above)}
    assert not bad, sorted(bad)


def test_only_the_cluster_module_and_the_job_submitter_import_ray():
    users = {str(p.relative_to(PKG)) for p in PKG.rglob("*.py")
             if any(m == "ray" or m.startswith("ray.") for m in _imports(p))}
    assert users == {"engine/cluster.py", "commands/submit.py"}, sorted(users)
