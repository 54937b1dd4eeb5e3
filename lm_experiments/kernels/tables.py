"""The named tables every fused word2vec-family loop takes, instead of a long positional list.

A loop reads five things: the chunk's examples (`Windows`), the input side it composes
vectors from and writes back (`InputSide`), the output side it scores against
(`OutputSide`), this chunk's step (`Schedule`) and the generators it draws noise words
from (`Streams`); `Loop` says which loop runs and carries the options only that loop
reads. Numba passes a namedtuple as one typed structure and reads its fields where the
code names them (no cost once the building blocks are inlined), so a field handed in the
wrong place is a name that does not exist, not a silently wrong training. The updater
(`updaters/fused.py`) builds them in one place; the GPU kernel takes the same `Loop`,
`Windows` and `InputSide`, with tensors in the fields.

Numba types a namedtuple by its class and the types of its fields, so the compiled
loops are cached on disk as before (the classes live here, in an importable module).
"""

from typing import NamedTuple

import numpy as np

# Loop.kind: one per loop the driver (`driver.train_chunk`) can run
SKIPGRAM = 0         # word2vec's per-example skip-gram (`cpu.py`), negative sampling or hierarchical softmax
CBOW = 1             # word2vec's per-example CBOW (`cpu.py`)
SKIPGRAM_SHARED = 2  # skip-gram, context words predicting the center, one draw per window (`shared_negatives.py`)
CENTER_SHARED = 3    # fastText's skip-gram, the center's bag predicting its window, one draw per window
CBOW_SHARED = 4      # CBOW, `centers` consecutive centers per draw and per step


class Loop(NamedTuple):
    """Which loop runs, and the options only some loops read."""

    kind: int              # SKIPGRAM | CBOW | SKIPGRAM_SHARED | CENTER_SHARED | CBOW_SHARED
    context_inputs: bool   # skip-gram: the context word predicts the center (word2vec), else the center predicts
                           # each context word (fastText)
    context_mean: bool     # CBOW: the hidden vector is the mean of the context's vectors, else their sum
    centers: int           # CBOW_SHARED: consecutive centers per draw and per step
    draws: int             # CENTER_SHARED: noise words drawn per window


class Windows(NamedTuple):
    """A chunk's examples, as the view hands them over (`WordWindows`): every kept word is a center."""

    ids: np.ndarray        # (n,) int64 the kept words, in corpus order
    sentence: np.ndarray   # (n,) the sentence each one is in (a window never crosses one)
    span: np.ndarray       # (n,) each center's dynamic window (1..window)
    window: int            # the widest span (data.window): the scratch a shared loop allocates


class InputSide(NamedTuple):
    """Input vectors as bags of rows: word w's vector is the mean (or sum) of table[rows[w, :counts[w]]], its own
    row for a word lookup, its row and its n-gram rows for fastText; every row of a bag takes the whole update."""

    table: np.ndarray      # (R, d) float32, written in place
    rows: np.ndarray       # (V, B) int64 each word's rows
    counts: np.ndarray     # (V,) int64 how many of them
    mean: bool             # a bag's vector is the mean of its rows, else the sum


class OutputSide(NamedTuple):
    """What a loop scores against: negative sampling (`negative` noise words drawn from `noise`) or hierarchical
    softmax (the Huffman paths); the side not used holds small arrays no loop reads. `hot` are the rows nearly
    every example writes, which each thread updates in its own copy during a chunk (`slot`: a row's place in
    `hot`, -1 elsewhere)."""

    rows: np.ndarray       # (O, d) float32, written in place
    hierarchical: bool
    negative: int          # K noise words per draw (0 with hierarchical softmax)
    noise: np.ndarray      # (2, V) Walker alias table of the noise distribution (`cpu.noise_table`)
    codes: np.ndarray      # (V, L) int64 each word's Huffman code
    points: np.ndarray     # (V, L) int64 the inner nodes on its path
    lengths: np.ndarray    # (V,) int64 its path's length
    hot: np.ndarray        # (H,) int64
    slot: np.ndarray       # (O,) int64


class Schedule(NamedTuple):
    """This chunk's step."""

    lr: float              # the scheduler's current learning rate (plain SGD)
    loss_every: int        # the log-likelihood is computed on every loss_every-th center only


class Streams(NamedTuple):
    """The generators: a chunk is split into len(states) contiguous parts, each drawing from its own 48-bit
    linear congruential generator; `threads` is the size of Numba's pool (one copy of the hot rows each)."""

    states: np.ndarray     # (parts,) uint64
    threads: int
