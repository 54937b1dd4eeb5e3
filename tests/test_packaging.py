"""The configs live in conf/ at the top of the checkout and ship inside every wheel: an installed wheel trains
from any folder with the same files."""

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parents[1]


def test_the_configs_are_at_the_top_and_the_package_finds_them():
    from lm_experiments import CONFIG_DIR

    assert CONFIG_DIR == ROOT / "conf" and (CONFIG_DIR / "train.yaml").is_file()
    assert not (ROOT / "lm_experiments" / "conf").exists(), "one copy of the configs, at the top"


def test_pyproject_lists_every_package_and_maps_the_configs_into_the_wheel():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "lm_experiments").rglob("__init__.py")}
    assert set(settings["packages"]) == folders | {"lm_experiments.conf"}
    assert settings["package-dir"] == {"lm_experiments.conf": "conf"}


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_trains_with_the_shipped_configs(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels)], check=True, capture_output=True)
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    # the dependencies are installed where this test runs (a venv or the system): the new venv sees them through a
    # .pth file, which `system_site_packages` would not give from inside a venv (it reaches the base interpreter's)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "tested_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    *map(str, wheels.glob("*.whl"))], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "LM_EXPERIMENTS_CACHE": str(tmp_path / "cache"), "PYTHONPATH": ""}
    where = subprocess.run([str(python), "-c", "import lm_experiments; print(lm_experiments.CONFIG_DIR)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(environment), where
    result = subprocess.run([str(environment / "bin" / "lm-train"), "trainer.max_epochs=1", "model.vector_size=16",
                             "logger=none", "callbacks.progress_bar=null", "hydra.run.dir=run"],
                            cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (elsewhere / "run" / "metrics.json").is_file() and (elsewhere / "run" / "vectors.bin").is_file()
    scored = subprocess.run([str(environment / "bin" / "lm-eval"), "run", "--json"], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=300)
    assert scored.returncode == 0 and '"kind": "word vectors"' in scored.stdout, scored.stderr[-2000:]
    api = subprocess.run([str(python), "-c", "from lm_experiments import train; print(train(['model=cbow', "
                          "'trainer.max_epochs=1', 'model.vector_size=8', 'logger=none'], output_dir='api').folder)"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert api.returncode == 0 and (elsewhere / "api" / "metrics.json").is_file(), api.stderr[-2000:]
