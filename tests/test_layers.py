"""The package's layers: every import points down (or stays in its layer), and no import cycles.

The order below is the one place it is written (the README's layout section
draws it). A module belongs to the layer of its first name under audiornn/
(`runtime/sampler.py` -> "runtime"). Imports inside functions count too: a
lazy import is still a dependency.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "audiornn"

#: Lowest first. A module may import from its own layer and the layers before it.
LAYERS = [
    ("__init__", "errors", "files", "progress", "quiet"),  # plumbing
    ("dsp", "metrics"),  # pure signal processing and measures (numpy, scipy)
    ("distribute",),  # Keras backends, strategies, several hosts
    ("streams",),  # the kinds of model input
    ("data",),  # audio files, the codec, datasets on disk and their training windows
    ("cores", "heads"),  # the network: cores between the streams and the heads
    ("config",),  # the typed run configuration
    ("runtime",),  # a trained run opened: sampling, effects, scoring, the writer, the map
    ("jobs",),  # what each job declares, and its dataset builder
    ("training", "evaluation", "export", "generate"),  # what the commands do
    ("web",),  # the local web page
    ("cli",),  # argument parsing, one module per command
    ("__main__",),
]
RANK = {name: k for k, names in enumerate(LAYERS) for name in names}


def module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path, known: dict, root: Path = PACKAGE.parent) -> set[str]:
    """The package modules a file imports (`from audiornn.x import y`: x.y if it is a module)."""
    out = set()
    here = module_name(path, root)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                     for a in node.names]
        else:
            continue
        out |= {n for n in names if n.split(".")[0] == "audiornn" and n != here}
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: {i for i in imports(p, known) if i in known} for m, p in known.items()}


def test_every_module_has_a_layer():
    missing = sorted({layer(m) for m in modules()} - set(RANK))
    assert not missing, f"add these to LAYERS: {missing}"


def upward(g: dict) -> list[str]:
    return [f"{m} ({layer(m)}) imports {i} ({layer(i)})"
            for m, deps in g.items() for i in sorted(deps) if RANK[layer(i)] > RANK[layer(m)]]


def cycles(g: dict) -> list[str]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found = []

    def visit(m, path):
        state[m] = 1
        for d in sorted(g.get(m, ())):
            if state.get(d) == 1:
                found.append(" -> ".join(path[path.index(d):] + [d]))
            elif d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    return found


def test_imports_point_down():
    found = upward(graph())
    assert not found, "\n".join(found)


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "\n".join(found)


def test_the_checker_sees_an_upward_import_and_a_cycle(tmp_path):
    """The checks can fail: a module that imports a higher layer, and two that import each
    other (one of them inside a function)."""
    fake = tmp_path / "audiornn"
    (fake / "data").mkdir(parents=True)
    (fake / "data" / "a.py").write_text("from audiornn.cli import main\nimport audiornn.data.b\n")
    (fake / "data" / "b.py").write_text("def f():\n    from audiornn.data import a\n")
    known = {"audiornn.data.a": 0, "audiornn.data.b": 0, "audiornn.cli": 0}
    g = {m: imports(fake / "data" / f"{m[-1]}.py", known, tmp_path)
         for m in ("audiornn.data.a", "audiornn.data.b")}
    assert g == {"audiornn.data.a": {"audiornn.cli", "audiornn.data.b"},
                 "audiornn.data.b": {"audiornn.data.a"}}
    assert upward(g) == ["audiornn.data.a (data) imports audiornn.cli (cli)"]
    assert cycles(g) == ["audiornn.data.a -> audiornn.data.b -> audiornn.data.a"]
