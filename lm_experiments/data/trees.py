"""Labelled parse trees in PTB bracket form (the Stanford Sentiment Treebank's `(3 (2 The) (2 Rock))`).

A tree is stored flat, its nodes in post-order (every child before its parent, the
root last), so a batch of trees is a few arrays and the Tree-LSTM can walk it level
by level instead of recursing node by node.
"""

import re
from dataclasses import dataclass

from lm_experiments.errors import UserError

_TOKEN = re.compile(r"\(|\)|[^ \t\r\n()]+")  # ASCII spaces only: SST has no-break spaces inside tokens


@dataclass(frozen=True)
class Tree:
    """One sentence's tree, nodes in post-order (the root last).

    `words[i]` is the word at leaf i and None at an inner node; `children[i]` lists a
    node's children left to right; `labels[i]` is the node's label as written (`"3"`).
    """

    labels: tuple[str, ...]
    children: tuple[tuple[int, ...], ...]
    words: tuple[str | None, ...]

    @property
    def size(self) -> int:
        return len(self.labels)

    @property
    def root(self) -> int:
        return len(self.labels) - 1

    def leaves(self) -> list[str]:
        """The sentence: the leaf words left to right (post-order visits leaves in sentence order)."""
        return [w for w in self.words if w is not None]

    def spans(self) -> list[tuple[int, int]]:
        """(start, end) leaf positions covered by every node: node i's phrase is leaves()[start:end]."""
        spans: list[tuple[int, int]] = []
        position = 0
        for kids, word in zip(self.children, self.words):
            if word is not None:
                spans.append((position, position + 1))
                position += 1
            else:
                spans.append((spans[kids[0]][0], spans[kids[-1]][1]))
        return spans


def parse_tree(line: str, where: str = "") -> Tree:
    """Parse `(label child ...)` where a child is a word or another bracketed node; raises UserError with
    `where` (file and line) on anything else."""
    tokens = _TOKEN.findall(line)
    labels: list[str] = []
    children: list[tuple[int, ...]] = []
    words: list[str | None] = []
    stack: list[tuple[str, list[int], list[str]]] = []  # open nodes: label, child node ids, words seen
    position = 0

    def fail(reason: str):
        raise UserError(f"{where}: not a labelled tree in PTB bracket form ({reason}): {line.strip()[:80]!r}")

    while position < len(tokens):
        token = tokens[position]
        if token == "(":
            if position + 1 >= len(tokens) or tokens[position + 1] in "()":
                fail("a node without a label")
            stack.append((tokens[position + 1], [], []))
            position += 2
            continue
        if token == ")":
            if not stack:
                fail("an unmatched ')'")
            label, kids, leaf_words = stack.pop()
            if kids and leaf_words:
                fail("a node holding both words and subtrees")
            if not kids and len(leaf_words) != 1:
                fail("a leaf with no word or several words")
            labels.append(label)
            children.append(tuple(kids))
            words.append(leaf_words[0] if leaf_words else None)
            if stack:
                stack[-1][1].append(len(labels) - 1)
            elif position != len(tokens) - 1:
                fail("text after the root's ')'")
            position += 1
            continue
        if not stack:
            fail("a word outside any node")
        stack[-1][2].append(token)
        position += 1
    if stack or not labels:
        fail("unbalanced brackets" if stack else "no tree")
    return Tree(tuple(labels), tuple(children), tuple(words))
