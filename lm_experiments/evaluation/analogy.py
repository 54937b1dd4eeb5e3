"""Word-analogy accuracy (a : b :: c : ?) with 3CosAdd and 3CosMul, batched on the vectors' device.

The rules follow gensim's `evaluate_word_analogies`: only the `restrict_vocab`
most frequent words are candidates and inputs, case is folded, questions with an
unknown word are skipped (and counted as OOV), the three input words are never
an answer, and accuracy is correct / answered. `predictions` is the readable
batched form, which runs on any device; on the CPU the answers come from one fused
pass per question (`kernels/analogy.py`), tested against it question for question.
"""

from pathlib import Path

import torch
import torch.nn.functional as F

from lm_experiments.evaluation.benchmarks import read_analogies, restricted_lookup

SEMANTIC_SECTIONS = 5  # in questions-words.txt the first five sections are semantic, the rest syntactic
COSMUL_EPSILON = 1e-6  # gensim's value (Levy & Goldberg use 1e-3)


class AnalogyEvaluator:
    def __init__(self, words: list[str], path: Path, restrict_vocab: int = 30000,
                 case_insensitive: bool = True, batch_size: int = 256):
        lookup, canonical, fold = restricted_lookup(words, restrict_vocab, case_insensitive)
        questions = read_analogies(path)
        section_names = list(dict.fromkeys(section for section, _ in questions))
        known = [(section_names.index(s), [lookup[fold(w)] for w in q]) for s, q in questions
                 if all(fold(w) in lookup for w in q)]
        self.rows = len(canonical)
        self.section_names = section_names
        self.total = len(questions)
        self.batch_size = batch_size
        self.canonical = torch.tensor(canonical, dtype=torch.long)
        self.questions = torch.tensor([q for _, q in known], dtype=torch.long).reshape(-1, 4)  # (Q, 4) a b c d
        self.sections = torch.tensor([s for s, _ in known], dtype=torch.long)                # (Q,)

    def cosines(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The few hundred distinct question words against all k candidates (one matrix product): ((u, k)
        cosines, (Q, 3) the rows of each question's a, b and c in them)."""
        unit = F.normalize(vectors[: self.rows].float(), dim=1)          # (k, d)
        asked, position = self.questions.to(vectors.device)[:, :3].unique(return_inverse=True)  # (u,), (Q, 3)
        return unit[asked] @ unit.T, position                            # (u, k)

    def fused_predictions(self, vectors: torch.Tensor) -> dict[str, torch.Tensor]:
        """`predictions` in one pass per question on the CPU (`kernels/analogy.py`)."""
        from lm_experiments.kernels.analogy import answer_analogies

        cosine, position = self.cosines(vectors)
        answers = torch.from_numpy(answer_analogies(cosine.contiguous().numpy(), position.numpy(),
                                                    self.questions.numpy(), self.canonical.numpy(), COSMUL_EPSILON))
        return {"add": answers[:, 0], "mul": answers[:, 1]}

    def predictions(self, vectors: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predicted row per answerable question, for each method: {"add": (Q,), "mul": (Q,)}.

        Each batch of questions gathers rows of the table of cosines (`cosines`) and scores every candidate.
        """
        device = vectors.device
        canonical = self.canonical.to(device)
        questions = self.questions.to(device)
        cosine, position = self.cosines(vectors)
        # rows that are another casing of a word: masked by comparison (rare), the rest by scatter
        aliases = torch.nonzero(canonical != torch.arange(len(canonical), device=device)).squeeze(1)
        # written in place: small results kept alive between the batches' large temporaries fragment the heap
        out = {method: torch.empty(len(questions), dtype=torch.long, device=device) for method in ("add", "mul")}
        for start in range(0, len(questions), self.batch_size):
            batch, where = questions[start: start + self.batch_size], position[start: start + self.batch_size]
            cos_a, cos_b, cos_c = (cosine[where[:, i]] for i in range(3))  # (q, k) each
            add = (cos_b + cos_c).sub_(cos_a)
            # 3CosMul in place ((1 + cos) / 2 for each; halving is exact): no more (q, k) tables than these four
            mul = cos_b.add_(1).mul_(0.5).mul_(cos_c.add_(1).mul_(0.5)).div_(cos_a.add_(1).mul_(0.5).add_(
                COSMUL_EPSILON))
            del cos_a, cos_c
            for scores in (add, mul):
                scores.scatter_(1, batch[:, :3], -torch.inf)
                if aliases.numel():
                    alias_of_input = (canonical[aliases][None, :, None] == batch[:, None, :3]).any(2)  # (q, n)
                    scores[:, aliases] = scores[:, aliases].masked_fill(alias_of_input, -torch.inf)
            out["add"][start: start + len(batch)] = canonical[add.argmax(1)]
            out["mul"][start: start + len(batch)] = canonical[mul.argmax(1)]
        return out

    def __call__(self, vectors: torch.Tensor) -> dict[str, float]:
        fused = vectors.device.type == "cpu" and len(self.questions)
        predicted = self.fused_predictions(vectors) if fused else self.predictions(vectors)
        expected = self.questions[:, 3].to(vectors.device)
        sections = self.sections.to(vectors.device)
        answered = len(expected)
        semantic = sections < SEMANTIC_SECTIONS

        def accuracy(correct, mask=None):
            if mask is not None:
                correct = correct[mask]
            return int(correct.sum()) / correct.numel() if correct.numel() else 0.0

        add_correct = predicted["add"] == expected
        return {
            "analogy": accuracy(add_correct),
            "analogy_mul": accuracy(predicted["mul"] == expected),
            "analogy_sem": accuracy(add_correct, semantic),
            "analogy_syn": accuracy(add_correct, ~semantic),
            "analogy_oov": 100.0 * (self.total - answered) / max(self.total, 1),
            "analogy_answered": float(answered),
        }
