"""Where modules lived before the package got its rooms (`cli/`, `run/`, `vectors/`), so that what names them
still works: `python -m lm_experiments.evaluate RUN`, `from lm_experiments.embed import ElmoEmbedder`, and the
`_target_`s in the `config.yaml` of run folders written then (`lm_experiments.csv_log.RunCSVLogger`).

A finder on `sys.meta_path` answers only these names, with the module that lives at the new
place: `import lm_experiments.evaluate` gives the very module `lm_experiments.cli.evaluate`
(one set of classes, not a second copy), and `python -m` runs the new file as `__main__`.
Installed when `lm_experiments` is imported; nothing else of ours uses the old names.
"""

import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {
    "lm_experiments.main": "lm_experiments.cli.train",
    "lm_experiments.evaluate": "lm_experiments.cli.evaluate",
    "lm_experiments.generate": "lm_experiments.cli.generate",
    "lm_experiments.embed": "lm_experiments.cli.embed",
    "lm_experiments.compare": "lm_experiments.cli.compare",
    "lm_experiments.inspect": "lm_experiments.cli.inspect_run",
    "lm_experiments.api": "lm_experiments.run.api",
    "lm_experiments.training": "lm_experiments.run.training",
    "lm_experiments.assembly": "lm_experiments.run.assembly",
    "lm_experiments.run_folder": "lm_experiments.run.folder",
    "lm_experiments.csv_log": "lm_experiments.run.csv_log",
    "lm_experiments.hydra_callbacks": "lm_experiments.run.hydra_callbacks",
    "lm_experiments.export": "lm_experiments.vectors.writing",
    "lm_experiments.vector_files": "lm_experiments.vectors.reading",
    "lm_experiments.data.tokenize": "lm_experiments.data.tokenizers",
}


class _AliasLoader(importlib.abc.Loader):
    """Gives the module at the new place (imported as usual) under the old name; `python -m` asks `get_code`."""

    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        module = importlib.import_module(self.new)
        self._spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        module.__spec__ = self._spec  # the import system set the old name's spec on it: the module keeps its own

    def get_code(self, name: str):
        return importlib.util.find_spec(self.new).loader.get_code(self.new)


class _OldNames(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path=None, target=None):
        if name not in MOVED:
            return None
        origin = importlib.util.find_spec(MOVED[name]).origin
        return importlib.util.spec_from_loader(name, _AliasLoader(MOVED[name]), origin=origin)


def install() -> None:
    if not any(isinstance(finder, _OldNames) for finder in sys.meta_path):
        sys.meta_path.insert(0, _OldNames())
