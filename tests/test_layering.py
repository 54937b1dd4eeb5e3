"""Imports point down, and the package's rooms hold what their names say.

The parts (data, models, objectives, kernels, n-gram counting, vectors, evaluation, inspection,
the updaters) never import the tasks, the callbacks, a run's life (`run/`) or the commands
(`cli/`); the kernels import nothing else of ours; the tasks and callbacks reach into `run/` only
for the run folder's layout (a leaf); `run/` never imports the commands. No module is named after
a standard-library module, the top level keeps at most a dozen modules, and nothing of ours uses
the old module names that `old_names.py` keeps working for users (it reads old run folders and old command lines
for `run/` and `cli/`)."""

import ast
import sys
from pathlib import Path

import pytest

from lm_experiments.old_names import MOVED

PACKAGE = Path(__file__).resolve().parents[1] / "lm_experiments"
PARTS = ("data", "models", "objectives", "kernels", "ngram", "vectors", "evaluation", "inspection", "updaters")
ABOVE_THE_PARTS = ("tasks", "callbacks", "run", "cli", "old_names")
RUN_FOLDER = "run.folder"  # the leaf every writer and reader of a run folder shares


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


def upward(folder: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """The files under `folder` that import a module under one of `forbidden` (other than `allowed` ones)."""
    wrong = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        names = sorted(name for name in ours(imported_modules(path))
                       if name.split(".")[0] in forbidden and name.split(".")[0] != folder
                       and not any(name == ok or name.startswith(ok + ".") for ok in allowed))
        if names:
            wrong[str(path.relative_to(PACKAGE))] = names
    return wrong


@pytest.mark.parametrize("part", PARTS)
def test_the_parts_import_nothing_above_them(part):
    assert not upward(part, ABOVE_THE_PARTS), "imports that point up"


@pytest.mark.parametrize("room", ["tasks", "callbacks"])
def test_tasks_and_callbacks_reach_into_a_run_only_for_its_folder_layout(room):
    assert not upward(room, ("run", "cli", "old_names"), allowed=(RUN_FOLDER, "run.folder.")), "imports that point up"


def test_a_runs_life_never_imports_the_commands():
    assert not upward("run", ("cli",)), "imports that point up"


def test_the_run_folder_is_a_leaf():
    imported = ours(imported_modules(PACKAGE / "run" / "folder.py"))
    assert {name.split(".")[0] for name in imported} <= {"errors", "files", "vectors"}, imported


def test_the_kernels_are_functions_of_arrays_that_import_nothing_of_ours():
    for path in (PACKAGE / "kernels").glob("*.py"):  # but each other's building blocks
        assert not {name for name in ours(imported_modules(path)) if name.split(".")[0] != "kernels"}, path.name


def test_no_module_is_named_after_a_standard_library_module():
    shadowing = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if path.stem in sys.stdlib_module_names or path.parent.name in sys.stdlib_module_names]
    assert not shadowing


def test_the_top_level_keeps_at_most_a_dozen_modules():
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(modules) <= 12, modules


def test_nothing_of_ours_uses_the_old_module_names():
    places = [PACKAGE, PACKAGE.parent / "tests", PACKAGE.parent / "benchmarks", PACKAGE.parent / "docs"]
    old = {name.removeprefix("lm_experiments.") for name in MOVED}
    wrong = {}
    for path in (p for place in places for p in place.rglob("*.py")):
        if path.name in ("old_names.py", "test_layering.py", "test_old_runs.py"):
            continue
        names = {name for name in ours(imported_modules(path)) if name in old or name.rsplit(".", 1)[0] in old}
        if names:
            wrong[str(path)] = sorted(names)
    assert not wrong


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from lm_experiments.tasks.base import Task\n    import lm_experiments.run.api\n")
    assert ours(imported_modules(module)) == {"tasks.base", "tasks.base.Task", "run.api"}
