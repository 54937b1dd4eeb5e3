"""Analogy answers in one pass per question: 3CosAdd and 3CosMul scored and their argmax kept as each candidate
is read (Numba, a question per iteration of a parallel loop).

The readable reference is `evaluation/analogy.py`'s batched PyTorch form, which builds
(questions x candidates) tables of cosines and then of each method's scores: about a
dozen passes over 19,544 x 30,000 floats for the Google questions, half a second a
time on 2 cores, paid after every epoch. Here each question reads its three rows of the
(distinct words x candidates) cosine table once, computes both scores in float32 in the
reference's order of operations, skips the question's own words and their other
casings, and keeps the first maximum (torch.argmax's rule), so the answers are the
reference's, tested question for question.
"""

import numpy as np
from numba import njit, prange


@njit(nogil=True, parallel=True, cache=True)
def answer_analogies(cosine, position, questions, canonical, epsilon):
    """cosine (u, k) float32: each distinct question word against the k candidates; position (Q, 3): the rows of
    a, b and c in it; questions (Q, 4): a, b, c, d as candidate rows; canonical (k,): each candidate's canonical
    row (another casing's). Returns (Q, 2): the canonical row of the 3CosAdd and the 3CosMul answer."""
    count, k = position.shape[0], cosine.shape[1]
    answers = np.empty((count, 2), np.int64)
    one, half, eps = np.float32(1.0), np.float32(0.5), np.float32(epsilon)
    for q in prange(count):
        row_a, row_b, row_c = cosine[position[q, 0]], cosine[position[q, 1]], cosine[position[q, 2]]
        a, b, c = questions[q, 0], questions[q, 1], questions[q, 2]
        best_add, best_mul = -np.inf, -np.inf
        arg_add, arg_mul = 0, 0
        for j in range(k):
            word = canonical[j]
            if j in (a, b, c) or word in (a, b, c):
                continue
            add = (row_b[j] + row_c[j]) - row_a[j]
            mul = ((row_b[j] + one) * half) * ((row_c[j] + one) * half) / ((row_a[j] + one) * half + eps)
            if add > best_add:
                best_add, arg_add = add, j
            if mul > best_mul:
                best_mul, arg_mul = mul, j
        answers[q, 0], answers[q, 1] = canonical[arg_add], canonical[arg_mul]
    return answers
