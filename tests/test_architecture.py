"""The layer order of docs/architecture.md, held by the imports: every module of the package is
parsed with ``ast``; an import of a module in a higher layer fails, and so does any import cycle
between modules (lazy imports inside functions included: they are dependencies too)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "curation"

#: Lowest first; a module imports only from its own layer or the layers below it. The same table,
#: with what each layer holds, is in docs/architecture.md.
LAYERS = [
    ("core", {"schema", "ids", "hashing", "domains", "ranks"}),
    ("text", {"text", "html", "dedup"}),
    ("io", {"io"}),
    ("run", {"run"}),
    ("tokens", {"tokenizer", "tokens"}),
    ("train", {"train"}),
    ("classifiers", {"classifiers"}),
    ("operators", {"operators"}),
    ("config", {"config"}),
    ("engine", {"engine"}),
    ("consumers", {"status", "query", "report", "evaluation", "preflight"}),
    ("interface", {"commands", "cli", "__main__", "__init__", "data", "api", "job_models"}),
]

#: Upward imports not yet removed, each with its reason; the test fails once one is gone, so the list
#: only shrinks. (Empty: the bundled eval suite, read by classifiers, train and evaluation, moved down
#: to curation.io.eval_suite.)
KNOWN_UPWARD: set[tuple[str, str]] = set()


def _module(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in PKG.rglob("*.py")}


def _imports(name: str, source: str, is_package: bool = False) -> set[str]:
    """The package's modules that module ``name`` (its ``source``) imports: ``from curation import
    schema`` is ``curation.schema``, a relative import is resolved against the module's package."""
    package = name if is_package else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:  # an attribute of a module: the module
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


GRAPH = {name: _imports(name, path.read_text(encoding="utf-8"), path.name == "__init__.py")
         for name, path in MODULES.items()}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for i, (_, packages) in enumerate(LAYERS):
        if top in packages:
            return i
    raise AssertionError(f"{module}: its package {top!r} is in no layer of tests/test_architecture.py "
                         "(add it there and to docs/architecture.md)")


def test_every_module_is_in_a_layer():
    for m in MODULES:
        _layer(m)


def test_no_module_imports_from_a_higher_layer():
    upward = {(m, t) for m, targets in GRAPH.items() for t in targets if _layer(t) > _layer(m)}
    new = {f"{m} ({LAYERS[_layer(m)][0]}) -> {t} ({LAYERS[_layer(t)][0]})" for m, t in upward - KNOWN_UPWARD}
    assert not new, sorted(new)
    assert KNOWN_UPWARD <= upward, f"removed, drop from KNOWN_UPWARD: {sorted(KNOWN_UPWARD - upward)}"


def _cycle() -> list[str] | None:
    """One import cycle between modules (as a path), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(GRAPH[m]):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state and (found := visit(t)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(GRAPH):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycles_between_modules():
    cycle = _cycle()
    assert cycle is None, " -> ".join(cycle)


def test_the_check_sees_an_upward_import_and_a_cycle():
    """The parser and the checks on a planted example: an operator importing the engine, and two
    evaluation modules importing each other."""
    src = "from curation.engine import runner\nfrom ..evaluation import evaluate\n"
    assert _imports("curation.operators.planted", src) == {"curation.engine.runner", "curation.evaluation.evaluate"}
    assert _layer("curation.engine.runner") > _layer("curation.operators.planted")
    saved = dict(GRAPH)
    try:
        GRAPH["curation.evaluation.anneal"] = GRAPH["curation.evaluation.anneal"] | {"curation.evaluation.evaluate"}
        GRAPH["curation.evaluation.evaluate"] = GRAPH["curation.evaluation.evaluate"] | {"curation.evaluation.anneal"}
        assert _cycle() is not None
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


def test_one_domain_list_and_one_hash_module():
    """DOMAINS is defined only in curation/domains.py; mix64-style finalizers only in curation/hashing.py."""
    defined = {}
    for name, path in MODULES.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            targets += [node.name] if isinstance(node, ast.FunctionDef) else []
            for t in targets:
                if t in ("DOMAINS", "UNDETERMINED", "splitmix64", "fmix64", "mix64", "hash64"):
                    defined.setdefault(t, set()).add(name)
    assert defined == {"DOMAINS": {"curation.domains"}, "UNDETERMINED": {"curation.domains"},
                       "splitmix64": {"curation.hashing"}, "fmix64": {"curation.hashing"},
                       "hash64": {"curation.hashing"}}
