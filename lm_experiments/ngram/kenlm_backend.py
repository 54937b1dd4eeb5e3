"""KenLM as the engine beyond one machine's memory (`model.backend=kenlm`): `lmplz` estimates the model on disk
in bounded memory, the `kenlm` module scores it.

The training stream is written out as text (one sentence per line, the vocabulary's
words) and handed to `lmplz -o <order>` with `-S` (its memory) and `-T` (its temporary
files) set; its ARPA file is the model, loaded with `kenlm.Model`. lmplz refuses `<unk>` in
its input (it keeps the name for its own unknown word), so the vocabulary's `<unk>`, a word
with counts like any other here (PTB's text has it), is written as `UNK_WORD`, in the text,
in the queries and in the ARPA file.
Scores come back per sentence (`full_scores`, log10, `</s>` included) and are turned into
the natural-log probability of every token of a split, the unit the task's perplexity
sums, so a KenLM model and ours report the same numbers on the same ARPA file.
"""

import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from lm_experiments.data.vocab import UNK
from lm_experiments.errors import UserError
from lm_experiments.files import TEMPORARY_SUFFIX, remove_stale_temporaries, scratch_folder, temporary_prefix

LN_10 = math.log(10.0)
UNK_WORD = "lm_experiments_unk"  # the vocabulary's <unk> as lmplz sees it


def kenlm_names(itos: list[str]) -> list[str]:
    return [UNK_WORD if word == UNK else word for word in itos]


def find_lmplz(configured: str | None) -> str:
    """`model.lmplz`, else `lmplz` on PATH; one line saying what to do where there is none."""
    path = configured or shutil.which("lmplz")
    if not path or not Path(path).is_file():
        where = f"model.lmplz={configured} is not a file" if configured else "lmplz is not on PATH"
        raise UserError(f"model.backend=kenlm estimates with KenLM's lmplz, and {where}: build KenLM "
                        f"(https://github.com/kpu/kenlm, `cmake .. && make lmplz`), put its bin/ on PATH or set "
                        f"model.lmplz=/path/to/lmplz; or use model.backend=ours.")
    return path


def write_sentences(stream: np.ndarray, itos: list[str], eos: int, path: Path, chunk: int = 1 << 20) -> None:
    """The stream as text: words separated by spaces, a line break at every `<eos>`."""
    words = np.array(itos, dtype=object)
    with open(path, "w", encoding="utf-8") as out:
        for start in range(0, len(stream), chunk):
            ids = np.asarray(stream[start: start + chunk])
            tokens = words[ids]
            tokens[ids == eos] = ""
            separators = np.where(ids == eos, "\n", " ").astype(object)
            out.write("".join((tokens + separators).tolist()))


ARPA_HEADER = b"\\data\\"


def arpa_problem(path: Path) -> str | None:
    """What is wrong with a file that should be an ARPA model (missing, empty, not beginning with its header), or
    None; the full check is KenLM loading it."""
    if not path.is_file():
        return f"wrote no ARPA file ({path} does not exist)"
    with open(path, "rb") as handle:
        start = handle.read(64)
    if not start.strip():
        return f"its ARPA file {path} is empty"
    if not start.lstrip().startswith(ARPA_HEADER):
        return f"its output {path} is not an ARPA file (it begins {start[:32]!r})"
    return None


def what_it_said(result: subprocess.CompletedProcess) -> str:
    """The last lines a KenLM tool wrote to stderr, for a one-line message."""
    return " ".join(result.stderr.strip().splitlines()[-3:]) or "nothing on stderr"


def find_build_binary(setting) -> str | None:
    """`model.build_binary`: `auto` -> KenLM's build_binary where it is on PATH (else none), false/null -> none, a
    path -> that tool (refused in one line if it is not a file)."""
    if setting in (None, False, "false", "none"):
        return None
    if setting == "auto":
        return shutil.which("build_binary")
    if not Path(str(setting)).is_file():
        raise UserError(f"model.build_binary={setting} is not a file: point it at KenLM's build_binary, or use auto "
                        f"(build_binary on PATH, if any) or false.")
    return str(setting)


def build_binary(tool: str, arpa: Path, out: Path) -> Path:
    """KenLM's binary model (`build_binary`, its probing structure) of `arpa` at `out`: what KenLM users query and
    load in a fraction of the ARPA file's time. Written under a temporary name and renamed whole."""
    remove_stale_temporaries(out.parent)
    tmp = out.parent / f"{temporary_prefix(out.name)}build{TEMPORARY_SUFFIX}"
    try:
        result = subprocess.run([tool, str(arpa), str(tmp)], capture_output=True, text=True)
        if result.returncode != 0 or not tmp.is_file():
            raise UserError(f"{tool} could not build the binary model of {arpa} (exit {result.returncode}): "
                            f"{what_it_said(result)}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


class KenLMEstimator:
    """An ARPA model estimated by `lmplz` and queried through the `kenlm` module."""

    normalized = True

    def __init__(self, stream: np.ndarray, itos: list[str], eos: int, order: int, lmplz: str, memory_bytes: int,
                 discount_fallback: bool, folder: Path):
        import kenlm

        self.itos, self.eos, self.order = kenlm_names(itos), eos, order
        self.arpa = Path(folder) / "lmplz.arpa"
        with scratch_folder("lmplz", folder) as scratch:
            text = Path(scratch) / "train.txt"
            write_sentences(stream, self.itos, eos, text)
            command = [lmplz, "-o", str(order), "-S", f"{max(memory_bytes // 2**20, 64)}M", "-T", scratch,
                       "--text", str(text), "--arpa", str(self.arpa)]
            command += ["--discount_fallback"] if discount_fallback else []
            result = subprocess.run(command, capture_output=True, text=True)
        said = what_it_said(result)
        if result.returncode != 0:
            raise UserError(f"lmplz could not estimate the model (exit {result.returncode}): {said}")
        problem = arpa_problem(self.arpa)
        if problem is None:
            try:
                self.model = kenlm.Model(str(self.arpa))
            except (OSError, RuntimeError) as error:  # KenLM's FormatLoadException arrives as an OSError
                problem = f"KenLM cannot read it ({' '.join(str(error).split())[:200]})"
        if problem is not None:
            raise UserError(f"{lmplz} exited 0 but {problem}: is it KenLM's lmplz? It said: {said[-300:]}")
        self.sizes = self._sizes()

    def _sizes(self) -> list[int]:
        """The number of n-grams of each order, from the ARPA header."""
        sizes = []
        with open(self.arpa, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("ngram "):
                    sizes.append(int(line.split("=")[1]))
                elif sizes and not line.strip():
                    break
        return sizes

    def stream_log_probs(self, tokens: np.ndarray) -> np.ndarray:
        """(N,) natural-log probability of every token of a split read as sentences (`<eos>` scored as `</s>`)."""
        tokens = np.asarray(tokens)
        result = np.empty(len(tokens), dtype=np.float64)
        ends = np.flatnonzero(tokens == self.eos)
        start = 0
        for end in [*ends.tolist(), len(tokens)]:
            if end < start or (end == len(tokens) and start == len(tokens)):
                continue
            closed = end < len(tokens)  # the last piece of a split may end without an <eos>
            words = " ".join(self.itos[int(t)] for t in tokens[start:end])
            scores = [score for score, _, _ in self.model.full_scores(words, bos=True, eos=closed)]
            result[start: end + closed] = np.asarray(scores[: end + closed - start]) * LN_10
            start = end + 1
        return result

    def next_word_log_probs(self, histories: list[list[int]]) -> np.ndarray:
        """(B, V) natural-log probabilities of every next word (`<eos>`: `</s>`) after each history, read from its
        last `<eos>`."""
        import kenlm

        result = np.empty((len(histories), len(self.itos)))
        for row, history in enumerate(histories):
            since = [self.eos, *history]
            words = since[max(i for i, token in enumerate(since) if token == self.eos) + 1:]
            state, scratch = kenlm.State(), kenlm.State()
            self.model.BeginSentenceWrite(state)
            for word in words:
                self.model.BaseScore(state, self.itos[int(word)], scratch)
                state, scratch = scratch, state
            out = kenlm.State()
            for index, name in enumerate(self.itos):
                result[row, index] = self.model.BaseScore(state, "</s>" if index == self.eos else name, out)
        return result * LN_10
