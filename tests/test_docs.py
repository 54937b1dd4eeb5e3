"""The docs stay true: every `python train.py ...` command in README.md, docs/ and benchmarks/README.md composes
with Hydra (so a renamed key or option breaks CI, not a reader), the README stays a page, and the configuration
page lists every option of every group."""

import re
import shlex
from pathlib import Path

import pytest
from conftest import CONF, compose_config

from lm_experiments.config_options import check_options
from lm_experiments.run.command_line import first_of_each_sweep

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
INLINE = re.compile(r"`((?:[A-Z_]+=\S+ )*python train\.py[^`]*)`")


def commands_in(text: str) -> list[str]:
    """Every `python train.py` command: inline in backticks, or on an indented line (with `\\` continuations)."""
    found = [m.group(1) for m in INLINE.finditer(text)]
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("    ") and "python train.py" in line and "`" not in line:
            command = line
            while command.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command.rstrip()[:-1] + " " + lines[i].strip()
            found.append(re.sub(r"\s+#.*$", "", command.strip()))
    return found


def overrides_of(command: str) -> list[str]:
    """The overrides a command passes to train.py: placeholders filled in, flags dropped, a sweep's first value."""
    command = re.sub(r"<[^>]*>", "placeholder", command).rstrip(" \\")
    words = shlex.split(command.split("python train.py", 1)[1])
    flag_values = {i + 1 for i, w in enumerate(words) if w in ("--cfg", "-c", "--package", "-p")}
    given = [w for i, w in enumerate(words)
             if not w.startswith("-") and i not in flag_values and w not in ("...", "&&", "placeholder")]
    chosen = first_of_each_sweep(given)
    assert len(chosen) == len(given), f"a sweep without values to list in {command!r}"
    return chosen


COMMANDS = sorted({(page.relative_to(ROOT).as_posix(), command) for page in PAGES
                   for command in commands_in(page.read_text())})
DISTINCT = sorted({tuple(overrides_of(command)): command for _, command in COMMANDS}.items())


def test_the_commands_are_found():
    pages = {page for page, _ in COMMANDS}
    assert {"README.md", "docs/models.md", "docs/data.md", "benchmarks/README.md"} <= pages
    assert len(COMMANDS) > 60
    assert overrides_of("python train.py -m model=skipgram data.window=2,5,10 'data.fold=range(10)' \\") == [
        "model=skipgram", "data.window=2", "data.fold=0"]


@pytest.mark.parametrize("overrides, command", DISTINCT, ids=[command for _, command in DISTINCT])
def test_every_documented_command_composes(overrides, command, tmp_path):
    cfg = compose_config(list(overrides), tmp_path / "run", tmp_path / "cache")
    check_options(cfg.model, "model", given=("vocab", "bilm"))
    check_options(cfg.task, "task", given=("vocab", "model", "objective", "optimizer", "scheduler", "labels"))


def test_the_readme_stays_a_page_that_links_every_doc():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in readme, page.name
    assert "(benchmarks/README.md)" in readme


def test_relative_links_in_the_docs_point_at_files_that_exist():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} links to {target}"


@pytest.mark.parametrize("group", ["data", "model", "task", "task/updater", "data/view", "sampler", "optimizer",
                                   "scheduler", "trainer", "logger", "experiment", "debug"])
def test_the_configuration_page_lists_every_option_of_every_group(group):
    row = next(line for line in (ROOT / "docs" / "configuration.md").read_text().splitlines()
               if line.startswith(f"| `{group}` |"))
    options = sorted(p.stem for p in (CONF / group).glob("*.yaml"))
    missing = [option for option in options if f"`{option}`" not in row]
    assert not missing, f"docs/configuration.md's {group} row lacks {missing}"
