"""The package's folders are its layers (README, "A map of the code"): each imports only the
layers above it, nothing imports the command line, the lessons import only the library, and
there are no import cycles. Imports inside functions count as much as those at the top."""

import ast
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gamlab"
# Top to bottom: a module may import its own layer and the layers before it.
LAYERS = ["foundation", "blocks", "model", "training", "inspection", "experiments", "exercises", "commands"]
FOUNDATION = {"gamlab.config", "gamlab.errors", "gamlab.runtime", "gamlab.host_memory"}
MODEL = {"gamlab.model", "gamlab.model_inputs"}  # the shell and registry, and the checks on what it is given
SHELLS = {"gamlab.cli", "gamlab.__main__", "gamlab"}  # the entry points, and __init__'s re-exports


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported(path: Path, name: str) -> set[str]:
    """The gamlab modules `path` imports (module `name`), at any depth of its code."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("gamlab")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            if not base.startswith("gamlab"):
                continue
            for a in node.names:  # `from gamlab.inspection import plots` imports a module
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imported(path, name) for name, path in MODULES.items()}


def layer(name: str) -> str:
    if name in FOUNDATION:
        return "foundation"
    if name in MODEL:
        return "model"
    return name.split(".")[1]


def test_every_module_has_a_layer():
    assert {layer(m) for m in MODULES if m not in SHELLS} <= set(LAYERS)


@pytest.mark.parametrize("name", sorted(set(MODULES) - SHELLS))
def test_a_module_imports_only_its_layer_and_those_above(name):
    rank = LAYERS.index(layer(name))
    below = sorted(m for m in GRAPH[name] if LAYERS.index(layer(m)) > rank)
    assert not below, f"{name} ({layer(name)}) imports {below}, a lower layer; move the shared piece up"


def test_only_the_command_line_imports_the_commands():
    for name, targets in GRAPH.items():
        if name == "gamlab.cli" or name.startswith("gamlab.commands") or name == "gamlab.__main__":
            continue
        wrong = sorted(t for t in targets if t == "gamlab.cli" or t.startswith("gamlab.commands"))
        assert not wrong, f"{name} imports {wrong}: library code must not depend on the command line"


def test_no_import_cycles():
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name, path):
        state[name] = 1
        for t in sorted(GRAPH[name]):
            if state.get(t) == 1:
                cycle = path[path.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t, path + [t])
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])


@pytest.mark.parametrize("source", sorted((ROOT / "tools" / "lessons").glob("*.py")), ids=lambda p: p.stem)
def test_lessons_import_only_the_library(source):
    with warnings.catch_warnings():  # markdown cells hold LaTeX such as \kappa, not Python escapes
        warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
        tree = ast.parse(source.read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    wrong = sorted(m for m in names if m == "gamlab.cli" or m.startswith("gamlab.commands"))
    assert not wrong, f"{source.name} imports {wrong}; a lesson uses the library, not a command"


def test_the_package_does_not_import_repository_tooling():
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tops = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        tops |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level}
        assert not tops & {"tools", "benchmarks", "links", "tests"}, f"{name} imports repository tooling"
