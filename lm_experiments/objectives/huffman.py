"""Huffman codes for hierarchical softmax: word2vec's codes and inner-node numbering, from a heap.

Every optimal tree gives the same expected code length; they differ in which words of
equal count become siblings. word2vec.c takes the inner node on a tie, gensim's heap
compares counts only (ties fall by heap position), and this heap takes the earlier-made
node, leaves first. gensim trained on this tree instead of its own scored 0.3 analogy points
lower on text8-head and 0.4 higher on the same text with its sentences reversed
(`benchmarks/huffman_trees.py`): neither tie rule is the better one.
"""

import heapq
import itertools

import numpy as np


def huffman_tree(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes and inner-node paths for V leaves, as padded arrays.

    Returns `codes` (V, L) of 0/1 decisions from the root down, `points` (V, L) the
    inner node (0..V-2) deciding each step, and `lengths` (V,); rows are padded with
    0 past their length. Frequent words get short codes. Runs once per vocabulary
    (a heap over V items), never in a training step.
    """
    size = len(counts)
    if size < 2:
        raise ValueError("hierarchical softmax needs at least two words")
    order = itertools.count()
    heap = [(int(c), next(order), i) for i, c in enumerate(counts)]  # ties broken by insertion order
    heapq.heapify(heap)
    parent = np.zeros(2 * size - 1, dtype=np.int64)
    bit = np.zeros(2 * size - 1, dtype=np.int64)
    for inner in range(size, 2 * size - 1):
        count_a, _, a = heapq.heappop(heap)  # the smaller child takes code 0, as in word2vec
        count_b, _, b = heapq.heappop(heap)
        parent[a], parent[b] = inner, inner
        bit[a], bit[b] = 0, 1
        heapq.heappush(heap, (count_a + count_b, next(order), inner))
    root = 2 * size - 2
    paths = []
    for leaf in range(size):
        codes, points, node = [], [], leaf
        while node != root:
            codes.append(bit[node])
            points.append(parent[node] - size)
            node = parent[node]
        paths.append((codes[::-1], points[::-1]))
    depth = max(len(c) for c, _ in paths)
    codes = np.zeros((size, depth), dtype=np.int64)
    points = np.zeros((size, depth), dtype=np.int64)
    lengths = np.array([len(c) for c, _ in paths], dtype=np.int64)
    for leaf, (c, p) in enumerate(paths):
        codes[leaf, : len(c)] = c
        points[leaf, : len(p)] = p
    return codes, points, lengths
