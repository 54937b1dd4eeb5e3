"""The run folder: what a run writes, under which names, and how its files are read back.

A leaf (it imports no task, model or CLI), so that everything that writes or reads a run
folder (training, the tasks' exports, `lm-compare`, `lm-eval`, pretrained vectors) agrees on
one layout; rebuilding a trained task from a folder is `assembly.load_task`:

    <run>/config.yaml            the resolved config (config.resume-<n>.yaml: each resume's, beside it)
    <run>/vocab.tsv              the vocabulary with training counts
    <run>/labels.txt             a classifier's classes, class i on line i
    <run>/metrics.json           the final metrics
    <run>/metrics.csv            every logged metric (CSV logger)
    <run>/checkpoints/last.ckpt  Lightning checkpoints (the vocabulary inside)
    <run>/wandb_id.txt           the W&B run's id (logger=wandb), so that resuming continues that W&B run
    <run>/.hydra/overrides.yaml  the command line's overrides (written as Hydra would, once the run holds the folder)
    <run>/.lock                  the run's claim on the folder (a lock held while it runs; holds its pid)
    <run>/vectors.txt|bin, vectors.kv (fastText), model.arpa, samples.txt, embedding_map.png, neighbours.txt,
          confusion_matrix.png, attention.png|html, gradient_flow.png
                                 exports and pictures (lm-inspect adds heads, positions, layer_weights)
"""

import json
import math
import zipfile
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf

from lm_experiments.errors import UserError
from lm_experiments.files import atomic_write
from lm_experiments.vectors.layout import (  # noqa: F401 (the vector files, named where they are written)
    FASTTEXT_VECTORS_FILE,
    SUBWORDS_FILE,
    VECTORS_BINARY_FILE,
    VECTORS_TEXT_FILE,
)

CONFIG_FILE = "config.yaml"
VOCAB_FILE = "vocab.tsv"
LABELS_FILE = "labels.txt"
METRICS_FILE = "metrics.json"
CSV_METRICS_FILE = "metrics.csv"
HPARAMS_FILE = "hparams.yaml"
CHECKPOINTS_DIR = "checkpoints"
LAST_CHECKPOINT = "last"
BEST_CHECKPOINT = "best"
ARPA_FILE = "model.arpa"
KENLM_BINARY_FILE = "model.binary"  # KenLM's build_binary of model.arpa, where build_binary is on PATH
SAMPLES_FILE = "samples.txt"
EMBEDDING_MAP_FILE = "embedding_map.png"
NEIGHBOURS_FILE = "neighbours.txt"
CONFUSION_MATRIX_FILE = "confusion_matrix.png"
# pictures of the insides (callbacks.attention_maps, callbacks.gradient_flow, lm-inspect)
ATTENTION_FILE, HEAD_VIEW_FILE = "attention.png", "attention.html"
HEADS_FILE, HEADS_TABLE = "heads.png", "heads.tsv"
POSITIONS_FILE, POSITIONS_NOTE = "positions.png", "positions.txt"
GRADIENT_FLOW_FILE, GRADIENT_FLOW_TABLE = "gradient_flow.png", "gradient_flow.tsv"
LAYER_WEIGHTS_FILE = "layer_weights.png"
WANDB_ID_FILE = "wandb_id.txt"
HYDRA_DIR = ".hydra"
LOG_FILE = "train.log"

# What a run writes before its first result; a failed run removes only those of these it created (run_claim.py).
SET_UP_FILES = (HYDRA_DIR, LOG_FILE, CONFIG_FILE, VOCAB_FILE, LABELS_FILE, HPARAMS_FILE, CSV_METRICS_FILE,
                WANDB_ID_FILE)


def model_weights(state_dict: dict) -> dict:
    """The weights of a task's `model=` part in a checkpoint's state dict, without the `model.` prefix (checkpoints
    written before every task named its part `model` call it `encoder.`)."""
    for prefix in ("model.", "encoder."):
        weights = {key.removeprefix(prefix): value for key, value in state_dict.items() if key.startswith(prefix)}
        if weights:
            return weights
    return {}


def write_hydra_files(folder: Path, config, overrides: list[str], hydra_config=None) -> None:
    """`.hydra/` as Hydra writes it: the unresolved job config, the command line's overrides, and Hydra's own
    config where there is one (the run writes these itself once it holds its folder: `hydra.output_subdir`
    is null)."""
    files = {"config.yaml": OmegaConf.to_yaml(config), "overrides.yaml": yaml.safe_dump(list(overrides))}
    if hydra_config is not None:
        files["hydra.yaml"] = OmegaConf.to_yaml(OmegaConf.create({"hydra": hydra_config}))
    for name, text in files.items():
        with atomic_write(Path(folder) / HYDRA_DIR / name) as handle:
            handle.write(text)


def write_config(cfg: DictConfig, out_dir: Path, resuming: bool = False) -> Path:
    """`config.yaml`; a run resumed in its own folder keeps the original and writes `config.resume-<n>.yaml`."""
    path = Path(out_dir) / CONFIG_FILE
    if resuming and path.is_file():
        path = next(Path(out_dir) / f"config.resume-{n}.yaml" for n in range(1, 10_000)
                    if not (Path(out_dir) / f"config.resume-{n}.yaml").exists())
    with atomic_write(path) as handle:
        handle.write(OmegaConf.to_yaml(cfg, resolve=True))
    return path


def write_labels(labels: list[str], out_dir: Path) -> Path:
    path = Path(out_dir) / LABELS_FILE
    with atomic_write(path) as handle:
        handle.writelines(f"{label}\n" for label in labels)
    return path


def read_labels(folder: Path) -> list[str] | None:
    """A classifier run's classes in index order; None for runs of other tasks (they write no labels file)."""
    path = Path(folder) / LABELS_FILE
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else None


def write_metrics(metrics: dict[str, float], out_dir: Path) -> Path:
    """`metrics.json`: the final metrics of the run (non-finite values as strings: JSON has no inf/nan)."""
    path = Path(out_dir) / METRICS_FILE
    with atomic_write(path) as handle:
        json.dump({k: (v if math.isfinite(v) else str(v)) for k, v in sorted(metrics.items())}, handle, indent=1)
    return path


def is_finished(folder: Path) -> bool:
    return (Path(folder) / METRICS_FILE).is_file()


def read_metrics(folder: Path) -> dict[str, float]:
    return {k: float(v) for k, v in json.loads((Path(folder) / METRICS_FILE).read_text()).items()}


def read_overrides(folder: Path) -> dict[str, str] | None:
    """`key=value` pairs from Hydra's `.hydra/overrides.yaml` (what the command line set), hydra.* left out;
    None for a run started without Hydra's command line."""
    path = Path(folder) / HYDRA_DIR / "overrides.yaml"
    if not path.is_file():
        return None
    pairs = (item.split("=", 1) for item in (yaml.safe_load(path.read_text()) or []) if "=" in item)
    return {key.lstrip("+~"): value for key, value in pairs if not key.lstrip("+~").startswith("hydra.")}


def read_config(folder: Path) -> dict:
    """The resolved config as plain data ({} when the run wrote none)."""
    path = Path(folder) / CONFIG_FILE
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def write_wandb_id(run_id: str, out_dir: Path) -> Path:
    path = Path(out_dir) / WANDB_ID_FILE
    with atomic_write(path) as handle:
        handle.write(f"{run_id}\n")
    return path


def read_wandb_id(folder: Path) -> str | None:
    """The W&B run id a run folder recorded (None if it logged to no W&B run)."""
    path = Path(folder) / WANDB_ID_FILE
    return path.read_text(encoding="utf-8").strip() or None if path.is_file() else None


def run_folder_of(checkpoint: str | Path) -> Path:
    """The run folder a checkpoint was written in (`<run>/checkpoints/<name>.ckpt`)."""
    return Path(checkpoint).resolve().parent.parent


def checkpoint_path(folder: Path, checkpoint: str = LAST_CHECKPOINT) -> Path:
    """`last` -> the run's last checkpoint; `best` -> its best epoch's (`best_checkpoint`); anything else is a
    path to a .ckpt file."""
    if checkpoint == LAST_CHECKPOINT:
        return Path(folder) / CHECKPOINTS_DIR / f"{LAST_CHECKPOINT}.ckpt"
    if checkpoint == BEST_CHECKPOINT:
        return best_checkpoint(folder)
    return Path(checkpoint)


def load_checkpoint(path: Path, mmap: bool = False) -> dict:
    """A checkpoint's contents on the CPU; a missing, cut or damaged file is one `UserError` naming it (a zip
    archive whose directory, written last, is there, and whose records torch can read)."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise UserError(f"No checkpoint at {path}.")
    damaged = f"{path} is not a PyTorch checkpoint, or it was cut short (a run killed while writing it, a full disk)"
    if not zipfile.is_zipfile(path):
        raise UserError(f"{damaged}: pass another checkpoint.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
    except (RuntimeError, OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, pickle.UnpicklingError) as error:
        raise UserError(f"{damaged} ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}): "
                        f"pass another checkpoint.") from None
    if not isinstance(state, dict) or "state_dict" not in state:
        raise UserError(f"{path} holds no Lightning checkpoint (no state_dict).")
    return state


def best_checkpoint(folder: Path) -> Path:
    """The checkpoint of the run's best epoch by its optimized_metric, as the monitoring checkpoint callback
    (`callbacks.model_checkpoint`) recorded it in `last.ckpt` (read memory-mapped: the tables are not
    loaded). Found by name under the folder's `checkpoints/`, so a moved or copied run folder finds its own."""
    last = checkpoint_path(folder, LAST_CHECKPOINT)
    if not last.is_file():
        raise UserError(f"{folder} has no {CHECKPOINTS_DIR}/{LAST_CHECKPOINT}.ckpt, so no best checkpoint either.")
    state = load_checkpoint(last, mmap=True)
    recorded = [entry["best_model_path"] for key, entry in state.get("callbacks", {}).items()
                if key.startswith("ModelCheckpoint") and entry.get("monitor") and entry.get("best_model_path")]
    if not recorded:
        raise UserError(f"{folder} kept no best checkpoint (its checkpoint callback monitored no metric): use "
                        f"the last one.")
    return Path(folder) / CHECKPOINTS_DIR / Path(recorded[0]).name


def resume_checkpoint(ckpt_path: str | None, folder: Path) -> str | None:
    """The checkpoint a run resumes from, checked before anything is built: `last` is the run folder's own
    last checkpoint (an error when it has none, never a silent fresh start); a path must be an intact
    PyTorch checkpoint file (a zip archive whose directory, written last, is there)."""
    if ckpt_path is None:
        return None
    path = checkpoint_path(folder, str(ckpt_path))
    if ckpt_path == LAST_CHECKPOINT and not path.is_file():
        raise UserError(f"ckpt_path=last resumes the run in {folder}, but it has no {CHECKPOINTS_DIR}/"
                        f"{LAST_CHECKPOINT}.ckpt: run in the folder of the run to continue "
                        f"(paths.output_dir=...) or pass the checkpoint file as ckpt_path.")
    if not path.is_file():
        raise UserError(f"ckpt_path={ckpt_path} is not a file.")
    if not zipfile.is_zipfile(path):
        raise UserError(f"ckpt_path={ckpt_path} is not a PyTorch checkpoint, or it was cut short (a run killed "
                        f"while writing it): pass another checkpoint.")
    return str(path)


def check_run_folder(folder: Path) -> None:
    for name in (CONFIG_FILE, VOCAB_FILE):
        if not (Path(folder) / name).is_file():
            raise UserError(f"{folder} is not a run folder: it has no {name}. Pass the folder a training run wrote.")


