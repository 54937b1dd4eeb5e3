"""Imports point down: the parts (data, models, objectives, kernels, n-gram counting, evaluation, the updaters) never
import the tasks, the run modules or the command-line tools; the kernels import nothing else of ours."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lm_experiments"
PARTS = ("data", "models", "objectives", "kernels", "ngram", "evaluation", "inspection", "updaters")
ABOVE_THE_PARTS = ("tasks", "updaters", "callbacks", "assembly", "training", "api", "main", "bilm_loading",
                   "evaluate", "generate", "embed", "compare", "inspect", "tracking", "relaunch")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (at the top or inside a function), as dotted names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def ours(names: set[str]) -> set[str]:
    return {name.removeprefix("lm_experiments.") for name in names if name.startswith("lm_experiments.")}


@pytest.mark.parametrize("part", PARTS)
def test_the_parts_import_nothing_above_them(part):
    wrong = {}
    for path in sorted((PACKAGE / part).rglob("*.py")):
        upward = sorted(name for name in ours(imported_modules(path))
                        if name.split(".")[0] in ABOVE_THE_PARTS and name.split(".")[0] != part)
        if upward:
            wrong[str(path.relative_to(PACKAGE))] = upward
    assert not wrong, f"imports that point up: {wrong}"


def test_the_kernels_are_functions_of_arrays_that_import_nothing_of_ours():
    for path in (PACKAGE / "kernels").glob("*.py"):  # but each other's building blocks
        assert not {name for name in ours(imported_modules(path)) if name.split(".")[0] != "kernels"}, path.name


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from lm_experiments.tasks.base import Task\n    import lm_experiments.api\n")
    assert ours(imported_modules(module)) == {"tasks.base", "tasks.base.Task", "api"}
