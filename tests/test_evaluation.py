"""Our evaluators against gensim's on the same fixed vectors: the numbers must agree."""

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from lm_experiments.evaluation.analogy import AnalogyEvaluator
from lm_experiments.evaluation.benchmarks import benchmark_path, read_analogies, read_pairs
from lm_experiments.evaluation.neighbours import nearest_neighbours
from lm_experiments.evaluation.similarity import SimilarityEvaluator, spearman

RESTRICT = 2000


@pytest.fixture(scope="module")
def analogy_file(tmp_path_factory):
    """Every 8th question of questions-words.txt, all 14 sections kept (fast, same format)."""
    path = tmp_path_factory.mktemp("eval") / "analogies.txt"
    lines, kept = benchmark_path(None, "analogies").read_text().splitlines(), []
    for number, line in enumerate(lines):
        if line.startswith(": ") or number % 8 == 0:
            kept.append(line)
    path.write_text("\n".join(kept) + "\n")
    return path


@pytest.fixture(scope="module")
def planted_vectors(analogy_file):
    """Vectors where b = a + section offset + noise for many question pairs, so some analogies hold.

    The key list mixes question words, fillers and a few other casings (e.g. "Paris"
    after "paris", "ATHENS" before "athens") to exercise case folding and restriction.
    """
    rng = np.random.default_rng(7)
    questions = read_analogies(analogy_file)
    words = list(dict.fromkeys(w.lower() for _, q in questions for w in q))
    for name in ("ws353", "simlex"):  # half the pairs' words, so similarity has both hits and OOV
        pairs = read_pairs(benchmark_path(None, name))
        words += [w for a, b, _ in pairs[::2] for w in (a.lower(), b.lower()) if w not in words]
    words += [f"filler{i}" for i in range(600)]
    rng.shuffle(words)
    words = ["ATHENS"] + words + ["Paris", "Berlin"]
    dim = 24
    vectors = {w: rng.standard_normal(dim) for w in words}
    offsets = {}
    planted = set()
    for section, (a, b, c, d) in questions:
        offset = offsets.setdefault(section, 2.0 * rng.standard_normal(dim))
        for x, y in ((a.lower(), b.lower()), (c.lower(), d.lower())):
            if y not in planted:
                vectors[y] = vectors[x] + offset + 0.9 * rng.standard_normal(dim)
                planted.add(y)
    vectors["Paris"] = vectors["paris"] + 0.1 * rng.standard_normal(dim)
    matrix = np.stack([vectors[w] for w in words]).astype(np.float32)
    kv = KeyedVectors(dim)
    kv.add_vectors(words, matrix)
    return words, matrix, kv


def test_analogy_3cosadd_matches_gensim(planted_vectors, analogy_file):
    words, matrix, kv = planted_vectors
    gensim_score, sections = kv.evaluate_word_analogies(str(analogy_file), restrict_vocab=RESTRICT)
    ours = AnalogyEvaluator(words, analogy_file, restrict_vocab=RESTRICT)(torch.from_numpy(matrix))
    total = sections[-1]
    assert 0.2 < gensim_score < 0.9, "the planted structure should make the comparison non-trivial"
    assert ours["analogy"] == pytest.approx(gensim_score, abs=1e-12)
    assert ours["analogy_answered"] == len(total["correct"]) + len(total["incorrect"])
    semantic = sections[:5]
    sem_correct = sum(len(s["correct"]) for s in semantic)
    sem_total = sem_correct + sum(len(s["incorrect"]) for s in semantic)
    assert ours["analogy_sem"] == pytest.approx(sem_correct / sem_total)
    questions = len(read_analogies(analogy_file))
    assert ours["analogy_oov"] == pytest.approx(100.0 * (questions - ours["analogy_answered"]) / questions)


def test_analogy_3cosmul_matches_gensim_cosmul(planted_vectors, analogy_file):
    """gensim's evaluator is 3CosAdd only; 3CosMul is checked question by question against
    `most_similar_cosmul` on the same top-k vectors, with gensim's evaluation rules."""
    words, matrix, _ = planted_vectors
    top = KeyedVectors(matrix.shape[1])
    top.add_vectors(words[:RESTRICT], matrix[:RESTRICT])
    ok_vocab = {}
    for word in reversed(words[:RESTRICT]):
        ok_vocab[word.upper()] = word
    correct = answered = 0
    for _, question in read_analogies(analogy_file):
        a, b, c, expected = (w.upper() for w in question)
        if not all(w in ok_vocab for w in (a, b, c, expected)):
            continue
        answered += 1
        sims = top.most_similar_cosmul(positive=[ok_vocab[b], ok_vocab[c]], negative=[ok_vocab[a]], topn=5)
        predicted = next(w.upper() for w, _ in sims if w.upper() not in {a, b, c})
        correct += predicted == expected
    ours = AnalogyEvaluator(words, analogy_file, restrict_vocab=RESTRICT)(torch.from_numpy(matrix))
    assert ours["analogy_answered"] == answered
    assert ours["analogy_mul"] == pytest.approx(correct / answered, abs=1e-12)
    assert ours["analogy_mul"] > 0.2


@pytest.mark.parametrize("name", ["ws353", "simlex"])
@pytest.mark.parametrize("restrict", [300000, 800])
def test_similarity_matches_gensim(planted_vectors, name, restrict):
    words, matrix, kv = planted_vectors
    path = benchmark_path(None, name)
    pearson, spearman_result, oov = kv.evaluate_word_pairs(str(path), restrict_vocab=restrict)
    ours = SimilarityEvaluator(words, path, restrict_vocab=restrict)(torch.from_numpy(matrix))
    assert 0 < oov < 100
    assert ours["oov"] == pytest.approx(oov)
    assert ours["spearman"] == pytest.approx(spearman_result.statistic, abs=1e-6)
    assert ours["pearson"] == pytest.approx(pearson.statistic, abs=1e-5)


def test_spearman_with_ties_by_hand():
    # x's ranks 1, 2.5, 2.5, 4 (a tie), y's 1, 3, 2, 4: the Pearson correlation of the ranks is 4.5 / sqrt(4.5 * 5)
    x, y = torch.tensor([1.0, 2.0, 2.0, 3.0]), torch.tensor([10.0, 30.0, 20.0, 40.0])
    assert spearman(x, y) == pytest.approx(4.5 / (4.5 * 5) ** 0.5, abs=1e-12)
    assert np.isnan(spearman(torch.tensor([1.0, np.nan, 2.0]), torch.tensor([1.0, 2.0, 3.0])))
    assert np.isnan(spearman(torch.ones(3), torch.tensor([1.0, 2.0, 3.0]))), "a constant side has no correlation"


def test_neighbours_match_gensim(planted_vectors):
    words, matrix, kv = planted_vectors
    queries = [w for w in words[:40] if w.islower()][:5] + ["not-a-word"]
    ours = nearest_neighbours(words, torch.from_numpy(matrix), queries, topn=5, restrict_vocab=RESTRICT)
    assert set(ours) == set(queries[:-1])
    for query, neighbours in ours.items():
        expected = kv.most_similar(query, topn=5, restrict_vocab=RESTRICT)
        assert [w for w, _ in neighbours] == [w for w, _ in expected]
        assert [s for _, s in neighbours] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_the_fused_analogy_pass_gives_the_batched_references_answers(planted_vectors, analogy_file):
    """Question for question, both methods, with other casings among the candidates (Paris, ATHENS)."""
    words, matrix, _ = planted_vectors
    evaluator = AnalogyEvaluator(words, analogy_file, restrict_vocab=RESTRICT)
    assert (evaluator.canonical != torch.arange(len(evaluator.canonical))).any(), "aliases are exercised"
    vectors = torch.from_numpy(matrix)
    reference, fused = evaluator.predictions(vectors), evaluator.fused_predictions(vectors)
    for method in ("add", "mul"):
        assert torch.equal(reference[method], fused[method]), method
    ties = torch.from_numpy(np.repeat(matrix[:1], len(matrix), axis=0))  # every candidate scores the same
    assert torch.equal(evaluator.predictions(ties)["add"], evaluator.fused_predictions(ties)["add"]), "first max"
