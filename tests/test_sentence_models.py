"""Sentence classification: trees and their batching, padding that never leaks, cross-validation folds,
pretrained vectors with rows for missing words, the scores against scikit-learn, and whole runs."""

import json
import re

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

from lm_experiments.data.batches import IGNORE, SentenceBatch
from lm_experiments.data.labelled import Example, LabelledFile, MovieReviews, SentimentTreebank, fold_of
from lm_experiments.data.labelled_split import encode_split
from lm_experiments.data.trees import parse_tree
from lm_experiments.data.views.sentences import LabelledViewOptions, SentenceView, TreeView
from lm_experiments.data.vocab import Vocabulary
from lm_experiments.errors import UserError, user_error_in
from lm_experiments.evaluation.classification import ClassificationScores
from lm_experiments.models.birnn import BiRNN
from lm_experiments.models.bow import BagOfVectors
from lm_experiments.models.sentence_embedding import SentenceEmbedding
from lm_experiments.models.textcnn import TextCNN
from lm_experiments.models.treelstm import TreeLSTM
from lm_experiments.objectives.label_softmax import LabelSoftmax
from lm_experiments.run.assembly import PRETRAINED_MODES, read_pretrained
from lm_experiments.run.training import train

WORDS = ["the", "film", "is", "good", "bad", "very", "not", "a", "plot", "dull"]
VOCAB = Vocabulary(["<unk>", "<eos>", *WORDS], np.array([0, 0, *range(20, 10, -1)]))
TREES = ["(3 (2 (2 the) (2 film)) (3 (2 is) (3 (2 very) (4 good))))",
         "(1 (2 a) (1 (2 dull) (2 plot)))",
         "(2 bad)",
         "(0 (1 (2 not) (3 good)) (0 (1 very) (0 (0 bad) (2 (2 the) (1 film)))))"]


# --- trees -------------------------------------------------------------------------------------------------

def test_a_tree_is_parsed_into_post_order_with_its_phrases():
    tree = parse_tree(TREES[1])
    assert tree.leaves() == ["a", "dull", "plot"]
    assert tree.labels == ("2", "2", "2", "1", "1") and tree.root == 4
    assert tree.children == ((), (), (), (1, 2), (0, 3))
    assert tree.spans() == [(0, 1), (1, 2), (2, 3), (1, 3), (0, 3)]
    assert parse_tree("(2 8\u00a01\\/2)").leaves() == ["8\u00a01\\/2"]  # SST's no-break space stays in its token


@pytest.mark.parametrize("line, reason", [
    ("(3 (2 the) (2 film)", "unbalanced brackets"),
    ("(3 (2 the film))", "a leaf with no word or several words"),
    ("(3 the (2 film))", "a node holding both words and subtrees"),
    ("(3 (2 the)) (2 film)", "text after the root's ')'"),
    ("((2 the))", "a node without a label"),
])
def test_a_damaged_tree_is_refused_with_its_place(line, reason):
    with pytest.raises(UserError, match=re.escape(f"trees.txt line 7: not a labelled tree in PTB bracket form "
                                                  f"({reason})")):
        parse_tree(line, "trees.txt line 7")


def forest(trees: list[str], phrases: bool = True, training: bool = True):
    examples = [Example(tuple(t.leaves()), t.labels[t.root], t, t.labels) for t in map(parse_tree, trees)]
    split = encode_split(examples, VOCAB, ["0", "1", "2", "3", "4"], "train")
    view = TreeView(VOCAB, LabelledViewOptions(batch_size=len(trees), phrases=phrases))
    return view.examples(split, training)[list(range(len(trees)))]


def recursive_tree_lstm(model: TreeLSTM, tree, vectors) -> list[torch.Tensor]:
    """Tai et al.'s equations node by node, recursing from the root: the reference for the level batching."""
    cell, hidden = model.cell, model.output_dim
    states: dict[int, tuple] = {}

    def visit(node: int):
        kids = tree.children[node]
        for kid in kids:
            visit(kid)
        x = vectors[tree.words[node]] if tree.words[node] is not None else torch.zeros(vectors["the"].shape,
                                                                                     dtype=torch.float64)
        child_h = [states[k][0] for k in kids]
        child_c = [states[k][1] for k in kids]
        w = cell.input_gates.weight @ x + cell.input_gates.bias
        if model.variant == "childsum":
            h_sum = sum(child_h, torch.zeros(hidden, dtype=torch.float64))
            gates = w[: 3 * hidden] + cell.child_iou.weight @ h_sum
            forget = [torch.sigmoid(w[3 * hidden:] + cell.child_forget.weight @ h) for h in child_h]
        else:
            padded = child_h + [torch.zeros(hidden, dtype=torch.float64)] * (model.arity - len(kids))
            flat = torch.cat(padded)
            gates = w[: 3 * hidden] + cell.child_iou.weight @ flat
            all_forget = torch.sigmoid(w[3 * hidden:] + cell.child_forget.weight @ flat)
            forget = [all_forget[k * hidden: (k + 1) * hidden] for k in range(len(kids))]
        i, o, u = gates[:hidden], gates[hidden: 2 * hidden], gates[2 * hidden:]
        c = torch.sigmoid(i) * torch.tanh(u) + sum((f * ck for f, ck in zip(forget, child_c)),
                                                   torch.zeros(hidden, dtype=torch.float64))
        states[node] = (torch.sigmoid(o) * torch.tanh(c), c)

    visit(tree.root)
    return [states[node][0] for node in range(tree.size)]


@pytest.mark.parametrize("variant", ["nary", "childsum"])
def test_the_tree_lstm_batched_by_level_equals_a_recursion_node_by_node(variant):
    torch.manual_seed(0)
    trees = TREES if variant == "nary" else [*TREES, "(2 (1 not) (2 the) (3 (2 very) (4 good)) (2 plot))"]
    model = TreeLSTM(VOCAB, embedding_dim=6, hidden_dim=5, variant=variant, init_range=0.5).double()
    for parameter in model.parameters():
        torch.nn.init.uniform_(parameter, -0.5, 0.5)
    batch = forest(trees)
    assert batch.level_sizes[0] == sum(len(parse_tree(t).leaves()) for t in trees)  # one step per level
    assert len(batch.level_sizes) == 5                                                  # the tallest tree: 4
    states = model(batch)                                                              # (N, H), nodes by height
    vectors = {w: model.embedding.vectors.weight[VOCAB.stoi[w]].detach() for w in WORDS}
    # each tree's nodes in post-order are found in the batch by their labels' and structure's mapping:
    # walk the batch's own children to line nodes up with the recursion's.
    expected: dict[int, torch.Tensor] = {}
    for tree_index, text in enumerate(trees):
        tree = parse_tree(text)
        reference = recursive_tree_lstm(model, tree, vectors)

        def align(batch_node: int, tree_node: int, tree=tree, reference=reference):
            expected[batch_node] = reference[tree_node]
            kids = [k for k in batch.children[batch_node].tolist() if k >= 0]
            assert len(kids) == len(tree.children[tree_node])
            for batch_kid, tree_kid in zip(kids, tree.children[tree_node]):
                align(batch_kid, tree_kid)

        align(int(batch.roots[tree_index]), tree.root)
    assert sorted(expected) == list(range(len(batch.words)))
    torch.testing.assert_close(states.detach(), torch.stack([expected[n] for n in range(len(expected))]).detach())


def test_phrase_training_scores_every_labelled_node_and_evaluation_only_the_roots():
    training, evaluation = forest(TREES, phrases=True), forest(TREES, phrases=True, training=False)
    nodes = sum(parse_tree(t).size for t in TREES)
    assert (training.labels != IGNORE).sum() == nodes
    assert (evaluation.labels != IGNORE).sum() == len(TREES)
    assert sorted(evaluation.labels[evaluation.roots].tolist()) == sorted(int(t[1]) for t in TREES)
    without = forest(TREES, phrases=False)
    assert torch.equal(without.labels, evaluation.labels)


def test_sst_binary_drops_neutral_sentences_and_neutral_phrases(tmp_path):
    (tmp_path / "train.txt").write_text("\n".join([*TREES, "(2 (3 good) (1 bad))"]) + "\n")
    (tmp_path / "dev.txt").write_text(TREES[0] + "\n" + TREES[2] + "\n")
    (tmp_path / "test.txt").write_text(TREES[3] + "\n")
    fine = SentimentTreebank(str(tmp_path), labels="fine").splits(tmp_path)
    binary = SentimentTreebank(str(tmp_path), labels="binary").splits(tmp_path)
    phrases = SentimentTreebank(str(tmp_path), labels="binary", phrases=True).splits(tmp_path)
    assert [len(fine[s]) for s in ("train", "valid", "test")] == [5, 2, 1]
    assert [e.label for e in binary["train"]] == ["positive", "negative", "negative"]  # neutral roots dropped
    assert [len(binary[s]) for s in ("valid", "test")] == [1, 1]
    # phrase training keeps a neutral sentence for its labelled phrases, not one without any ("(2 bad)")
    assert [e.label for e in phrases["train"]] == ["positive", "negative", "negative", None]
    assert phrases["train"][3].node_labels == ("positive", "negative", None)
    assert [len(phrases[s]) for s in ("valid", "test")] == [1, 1]                      # evaluation: sentences
    split = encode_split(phrases["train"], VOCAB, ["negative", "positive"], "train")
    labelled = sum(label in "0134" for t in [*TREES, "(2 (3 good) (1 bad))"] for label in parse_tree(t).labels)
    assert (split.trees.labels != IGNORE).sum() == labelled


def test_kims_cleaning_splits_clitics_and_keeps_only_his_punctuation():
    from lm_experiments.data.tokenizers import kim_tokens

    assert kim_tokens('the 21st century\'s new " conan " -- he doesn\'t , (really) ?!') == [
        "the", "21st", "century", "'s", "new", "conan", "he", "does", "n't", ",", "(", "really", ")", "?", "!"]


def test_a_treebank_can_be_lowercased_but_not_retokenized():
    from lm_experiments.data.labelled_split import retokenized

    tree = parse_tree("(3 (2 The) (3 Film))")
    examples = [Example(("The", "Film"), "3", tree, tree.labels)]
    assert retokenized(examples, "whitespace", lowercase=True)[0].tokens == ("the", "film")
    with pytest.raises(UserError, match="data.tokenizer=kim would change the leaves of the parse trees"):
        retokenized(examples, "kim", lowercase=True)


# --- padding never leaks -----------------------------------------------------------------------------------

SENTENCES = [[2, 3, 4, 5, 6, 7, 8], [9, 3], [4]]


def padded(sentences: list[list[int]]) -> SentenceBatch:
    width = max(map(len, sentences))
    tokens = torch.tensor([s + [7] * (width - len(s)) for s in sentences])  # padding holds a real word on purpose
    return SentenceBatch(tokens, torch.tensor([len(s) for s in sentences]), torch.zeros(len(sentences), dtype=int))


@pytest.mark.parametrize("make", [
    lambda: BagOfVectors(VOCAB, embedding_dim=8, hidden_dim=4),
    lambda: BagOfVectors(VOCAB, embedding_dim=8, reduce="sum"),
    lambda: TextCNN(VOCAB, embedding_dim=8, widths=(2, 5), maps=3),
    lambda: BiRNN(VOCAB, embedding_dim=8, hidden_dim=4, num_layers=2, pooling="last"),
    lambda: BiRNN(VOCAB, embedding_dim=8, hidden_dim=4, cell="gru", pooling="max"),
    lambda: BiRNN(VOCAB, embedding_dim=8, hidden_dim=4, bidirectional=False, pooling="mean"),
], ids=["bow-hidden", "bow-sum", "textcnn", "bilstm-2-last", "bigru-max", "lstm-mean"])
def test_a_sentence_encodes_the_same_alone_and_padded_in_a_batch(make):
    torch.manual_seed(0)
    encoder = make().eval()
    together = encoder(padded(SENTENCES))
    assert together.shape == (3, encoder.output_dim)
    for row, sentence in enumerate(SENTENCES):
        torch.testing.assert_close(together[row], encoder(padded([sentence]))[0], atol=1e-6, rtol=1e-5)


def test_the_last_state_of_a_birnn_is_the_forward_end_and_the_backward_start():
    torch.manual_seed(0)
    encoder = BiRNN(VOCAB, embedding_dim=8, hidden_dim=4, num_layers=1).eval()
    sentence = torch.tensor([SENTENCES[0]])
    outputs, _ = encoder.rnn(encoder.embedding(sentence))                              # (1, T, 2H) unpacked
    expected = torch.cat([outputs[0, -1, :4], outputs[0, 0, 4:]])
    torch.testing.assert_close(encoder(padded(SENTENCES))[0], expected)


def test_textcnn_pools_a_width_5_filter_over_a_one_word_sentence_like_kims_zero_padding():
    torch.manual_seed(0)
    encoder = TextCNN(VOCAB, embedding_dim=4, widths=(5,), maps=2).eval()
    word = encoder.embedding.vectors.weight[4]
    conv = encoder.convolutions[0]
    # the sentence padded with 4 zero vectors each side: the 5 windows that hold the word, at each offset
    by_hand = torch.stack([torch.relu(conv.weight[:, :, k] @ word + conv.bias) for k in range(5)]).amax(0)
    torch.testing.assert_close(encoder(padded([[4]]))[0], by_hand)


# --- folds and splits --------------------------------------------------------------------------------------

@pytest.fixture
def mr_folder(tmp_path):
    folder = tmp_path / "mr"
    folder.mkdir()
    (folder / "rt-polarity.pos").write_text("".join(f"good film number {i} .\n" for i in range(53)))
    (folder / "rt-polarity.neg").write_text("".join(f"bad plot number {i} .\n" for i in range(47)))
    return folder


def test_the_ten_mr_folds_are_disjoint_cover_everything_and_are_fixed_by_their_seed(mr_folder, tmp_path):
    tests, seen = [], set()
    for fold in range(10):
        splits = MovieReviews(str(mr_folder), fold=fold).splits(tmp_path)
        parts = {name: {" ".join(e.tokens) for e in part} for name, part in splits.items()}
        assert not (parts["train"] & parts["test"]) and not (parts["valid"] & parts["test"])
        assert not (parts["train"] & parts["valid"])
        assert len(parts["train"] | parts["valid"] | parts["test"]) == 100
        assert len(parts["test"]) == 10 and len(parts["valid"]) == 9                   # 10% of the other 90
        assert not (parts["test"] & seen)
        seen |= parts["test"]
        tests.append(parts["test"])
    assert len(seen) == 100
    again = {" ".join(e.tokens) for e in MovieReviews(str(mr_folder), fold=3).splits(tmp_path)["test"]}
    other = {" ".join(e.tokens) for e in MovieReviews(str(mr_folder), fold=3, split_seed=7).splits(tmp_path)["test"]}
    assert again == tests[3] and other != tests[3]
    assert np.bincount(fold_of(101, 10, 0)).tolist() == [11] + [10] * 9


@pytest.mark.parametrize("files, options, message", [
    ({}, {"fold": 10}, r"data.fold=10 is not one of the 10 folds \(0..9\)"),
    ({"rt-polarity.neg": None}, {}, "has no rt-polarity.neg"),
])
def test_mr_errors(mr_folder, tmp_path, files, options, message):
    for name in files:
        (mr_folder / name).unlink()
    with pytest.raises(UserError, match=message):
        MovieReviews(str(mr_folder), **options).splits(tmp_path)


@pytest.mark.parametrize("content, message", [
    ("pos\tgood film\nneg bad film\n", r"line 2 is not `label<TAB>text`: 'neg bad film'"),
    ("pos\t\n", r"line 1 is not `label<TAB>text`"),
    ("\n\n", r"holds no labelled lines"),
])
def test_a_labelled_file_with_a_bad_line_is_refused_with_its_line_number(tmp_path, content, message):
    (tmp_path / "data.tsv").write_text(content)
    with pytest.raises(UserError, match=message):
        LabelledFile(str(tmp_path / "data.tsv")).splits(tmp_path)


def test_a_label_the_training_split_lacks_is_refused():
    examples = [Example(("good",), "pos"), Example(("bad",), "neutral")]
    with pytest.raises(UserError, match=r"The test split has label\(s\) 'neutral' that the training split does not "
                                        r"have \('neg', 'pos'\)"):
        encode_split(examples, VOCAB, ["neg", "pos"], "test")


def test_phrases_of_a_corpus_without_trees_are_refused():
    split = encode_split([Example(("good",), "pos")], VOCAB, ["pos"], "train")
    with pytest.raises(UserError, match="data.phrases=true needs parse trees, and data=mr has none"):
        SentenceView(VOCAB, LabelledViewOptions(phrases=True)).check_split(split, "mr")


def test_phrase_sequences_keep_each_distinct_labelled_phrase_once():
    text = "(3 (2 (2 the) (2 film)) (3 (2 the) (2 film)))"   # "the" and "film" twice; "the film" as 2 and as 3
    examples = [Example(tuple(t.leaves()), t.labels[t.root], t, t.labels) for t in [parse_tree(text)]]
    split = encode_split(examples, VOCAB, ["2", "3"], "train")
    phrases = SentenceView(VOCAB, LabelledViewOptions(phrases=True)).examples(split, training=True)
    batch = phrases[list(range(len(phrases)))]
    got = sorted((tuple(row[:n].tolist()), int(label)) for row, n, label in zip(batch.tokens, batch.lengths,
                                                                                   batch.labels))
    the, film = VOCAB.stoi["the"], VOCAB.stoi["film"]
    assert got == [((the,), 0), ((the, film), 0), ((the, film), 1), ((the, film, the, film), 1), ((film,), 0)]


# --- pretrained vectors ------------------------------------------------------------------------------------

def pretrained_embedding(vocab, **options) -> SentenceEmbedding:
    """A SentenceEmbedding handed its pretrained rows as a run's assembly hands them."""
    source = options.get("pretrained") if options.get("mode") in PRETRAINED_MODES else None
    return SentenceEmbedding(vocab, pretrained_rows=read_pretrained(source, vocab) if source else None, **options)


def test_pretrained_vectors_fill_the_words_they_have_and_kims_rows_the_rest(tmp_path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(4)
    rng = np.random.default_rng(0)
    known = ["the", "film", "good", "bad", "outside"]
    kv.add_vectors(known, rng.normal(0, 0.3, (5, 4)).astype(np.float32))
    kv.save_word2vec_format(str(tmp_path / "vectors.txt"), binary=False)
    kv.save_word2vec_format(str(tmp_path / "vectors.bin"), binary=True)
    for name in ("vectors.txt", "vectors.bin"):
        embedding = pretrained_embedding(VOCAB, dim=4, mode="multichannel", pretrained=str(tmp_path / name))
        coverage = embedding.load_pretrained(torch.Generator().manual_seed(0))
        found = [w for w in WORDS if w in known]
        assert coverage["pretrained/coverage"] == pytest.approx(len(found) / len(WORDS))
        counts = dict(zip(VOCAB.itos, VOCAB.counts.tolist()))
        assert coverage["pretrained/coverage_tokens"] == pytest.approx(
            sum(counts[w] for w in found) / sum(counts[w] for w in WORDS))
        for word in found:
            torch.testing.assert_close(embedding.vectors.weight[VOCAB.stoi[word]], torch.from_numpy(kv[word].copy()))
        bound = np.sqrt(3 * kv[found].var())
        missing = embedding.vectors.weight[[VOCAB.stoi[w] for w in WORDS if w not in known]]
        assert missing.abs().max() <= bound and missing.abs().max() > bound / 3
        assert torch.equal(embedding.frozen_copy.weight, embedding.vectors.weight)
        assert not embedding.frozen_copy.weight.requires_grad and embedding.vectors.weight.requires_grad
        assert embedding(torch.tensor([[2, 3]])).shape == (1, 2, 8)


def test_fasttext_vectors_build_the_words_they_lack_from_character_ngrams(tmp_path):
    from gensim.models import FastText

    model = FastText(vector_size=4, min_count=1, bucket=1000, seed=1)
    sentences = [["the", "film", "is", "good"], ["a", "dull", "plot"]] * 5
    model.build_vocab(sentences)
    model.train(sentences, total_examples=len(sentences), epochs=1)
    model.wv.save(str(tmp_path / "ft.kv"))
    embedding = pretrained_embedding(VOCAB, dim=4, mode="static", pretrained=str(tmp_path / "ft.kv"))
    coverage = embedding.load_pretrained()
    assert coverage["pretrained/coverage"] == pytest.approx(7 / 10)
    assert coverage["pretrained/built_from_ngrams"] == pytest.approx(3 / 10)
    torch.testing.assert_close(embedding.vectors.weight[VOCAB.stoi["bad"]], torch.from_numpy(model.wv["bad"].copy()))
    assert not embedding.vectors.weight.requires_grad


@pytest.mark.parametrize("options, message", [
    ({"mode": "static"}, "model.embedding=static starts from pretrained vectors: set model.pretrained"),
    ({"mode": "rand", "pretrained": "v.txt"}, "model.embedding=rand starts from random vectors"),
    ({"mode": "fixed"}, "model.embedding must be one of rand, static, non_static, multichannel"),
    ({"mode": "non_static", "pretrained": "missing.txt"}, "model.pretrained=missing.txt does not exist"),
    ({"mode": "non_static", "pretrained": "vectors.txt", "dim": 5},
     "holds 4-dimensional vectors and model.embedding_dim=5: set model.embedding_dim=4"),
    ({"mode": "non_static", "pretrained": "broken.bin"}, "broken.bin is cut short: its header counts 3 words"),
    ({"mode": "non_static", "pretrained": "."}, "is a folder without vectors.bin: pass a finished word-embedding run"),
])
def test_pretrained_vector_errors(tmp_path, monkeypatch, options, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vectors.txt").write_text("2 4\nthe 1 2 3 4\nfilm 4 3 2 1\n")
    (tmp_path / "broken.bin").write_bytes(b"3 4\nthe \x00\x01")
    with pytest.raises(UserError, match=message):
        pretrained_embedding(VOCAB, **{"dim": 4, **options}).load_pretrained()


# --- scores and the head -----------------------------------------------------------------------------------

def test_accuracy_and_macro_f1_equal_scikit_learns():
    rng = np.random.default_rng(0)
    target, predicted = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    predicted[:120] = target[:120]
    scores = ClassificationScores(5)
    for part in np.array_split(np.arange(300), 7):  # accumulated over batches
        scores.update(torch.from_numpy(predicted[part]), torch.from_numpy(target[part]))
    accuracy, macro_f1, confusion = scores.compute()
    assert accuracy == pytest.approx(accuracy_score(target, predicted))
    assert macro_f1 == pytest.approx(f1_score(target, predicted, average="macro"))
    assert confusion.sum() == 300 and np.trace(confusion) == (target == predicted).sum()
    assert confusion[2, 3] == ((target == 2) & (predicted == 3)).sum()                 # rows true, columns predicted


def test_max_norm_scales_each_class_vector_back_to_its_limit():
    head = LabelSoftmax(["a", "b", "c"], dim=4, max_norm=3.0)
    with torch.no_grad():
        head.output.weight.copy_(torch.tensor([[4.0, 0, 0, 3], [1, 1, 0, 0], [0, 0, 6, 8]]))
    head.constrain()
    norms = head.output.weight.norm(dim=1)
    torch.testing.assert_close(norms, torch.tensor([3.0, 2 ** 0.5, 3.0]), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(head.output.weight[0], torch.tensor([2.4, 0, 0, 1.8]), rtol=1e-5, atol=1e-5)


# --- whole runs --------------------------------------------------------------------------------------------

def polarity_file(path, count: int = 400, seed: int = 0):
    """Sentences whose label is carried by one word among noise: learnable, not by heart."""
    rng = np.random.default_rng(seed)
    filler = ["the", "film", "is", "a", "plot", "very", "of", "and", "it", "was"]
    lines = []
    for i in range(count):
        label = ["neg", "pos"][i % 2]
        words = list(rng.choice(filler, rng.integers(3, 12)))
        words.insert(int(rng.integers(0, len(words))), {"pos": "good", "neg": "bad"}[label])
        lines.append(f"{label}\t{' '.join(words)}\n")
    path.write_text("".join(lines))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("model", ["bow", "textcnn", "birnn"])
def test_a_classifier_learns_a_labelled_file_and_writes_its_results(make_cfg, tmp_path, model):
    data = polarity_file(tmp_path / "polarity.tsv")
    small = {"bow": ["optimizer.lr=0.02"], "textcnn": ["model.maps=8", "optimizer=adam", "optimizer.lr=0.01"],
             "birnn": ["model.hidden_dim=16", "optimizer.lr=0.5"]}[model]
    cfg = make_cfg(f"model={model}", "data=labelled_file", f"data.path={data}", "model.embedding_dim=16",
                   "trainer.max_epochs=6", "data.batch_size=20", *small, fast=False)
    metrics = train(cfg)
    assert metrics["test/acc"] > 0.9 and metrics["val/acc_best"] > 0.9
    assert 0 <= metrics["val/best_epoch"] < 6
    run = tmp_path / "run"
    assert (run / "labels.txt").read_text() == "neg\npos\n"
    assert (run / "confusion_matrix.png").stat().st_size > 1000
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["test/acc"] == pytest.approx(metrics["test/acc"])


@pytest.mark.slow
def test_the_test_split_is_scored_with_the_best_validation_epochs_weights(make_cfg, tmp_path):
    data = polarity_file(tmp_path / "polarity.tsv")
    # a learning rate that wrecks the model after it has learnt: the best epoch is an early one
    cfg = make_cfg("model=bow", "data=labelled_file", f"data.path={data}", "model.embedding_dim=16",
                   "optimizer=sgd", "optimizer.lr=3.0", "trainer.max_epochs=5", "data.batch_size=10",
                   "sampler.dropout=0", fast=False)
    from lm_experiments.run.training import build

    datamodule, task, trainer = build(cfg)
    trainer.fit(task, datamodule=datamodule)
    best_epoch = task.best_epoch
    trainer.test(task, datamodule=datamodule, verbose=False)
    val_again = trainer.validate(task, datamodule=datamodule, verbose=False)[0]["val/acc"]
    assert val_again == pytest.approx(task.best_acc)                                 # the best epoch's weights
    assert best_epoch == int(trainer.callback_metrics["val/best_epoch"])


@pytest.mark.slow
def test_a_tree_lstm_trains_on_every_phrase_of_a_treebank(make_cfg, tmp_path):
    folder = tmp_path / "sst"
    folder.mkdir()
    for split, count in (("train", 20), ("dev", 3), ("test", 3)):
        (folder / f"{split}.txt").write_text("\n".join(TREES * count) + "\n")
    cfg = make_cfg("model=treelstm", "data=sst", f"data.path={folder}", "data.phrases=true", "data.labels=binary",
                   "model.embedding_dim=8", "model.hidden_dim=8", "trainer.max_epochs=4", "data.batch_size=8",
                   "optimizer.lr=0.3", "sampler.dropout=0", fast=False)
    metrics = train(cfg)
    assert metrics["test/acc"] == 1.0  # three distinct sentences, seen as every one of their phrases


@pytest.mark.parametrize("overrides, message", [
    (["model=textcnn", "data=lee"], "pick data=mr, sst or labelled_file"),
    (["model=skipgram", "data=labelled_file", "data.path=DATA"], "holds labelled sentences, but this model reads"),
    (["model=treelstm", "data=labelled_file", "data.path=DATA"], "a tree encoder (model=treelstm) needs parse trees"),
    (["model=textcnn", "data=labelled_file", "data.path=DATA", "data.phrases=true"], "data.phrases=true needs parse"),
    (["model=textcnn", "data=labelled_file", "data.path=DATA", "model.embedding=static"],
     "model.embedding=static starts from pretrained vectors"),
    (["model=birnn", "data=labelled_file", "data.path=DATA", "model.pooling=first"], "model.pooling must be one of"),
    (["model=textcnn", "data=labelled_file", "data.path=DATA", "model.widths=[]"], "model.widths must list"),
    (["model=textcnn", "data=labelled_file", "data.path=DATA", "sampler.max_norm=0"], "sampler.max_norm must be"),
    (["model=textcnn", "data=labelled_file", "data.path=DATA", "sampler=full"],
     "TextCNN needs an output layer over the classes: sampler=label_softmax (FullSoftmax is not one)"),
    (["model=lstm", "data=file", "data.path=DATA", "sampler=label_softmax"],
     "RecurrentEncoder needs an output layer over the vocabulary: pick one with sampler=negative"),
    (["model=textcnn", "data=labelled_file", "data.path=MISSING"], "data.path=MISSING does not exist"),
    (["model=textcnn", "data=sst", "data.labels=three"], "data.labels must be fine (SST-5) or binary (SST-2)"),
])
def test_bad_classification_choices_get_one_message(make_cfg, tmp_path, overrides, message):
    from lm_experiments.run.training import build

    data = polarity_file(tmp_path / "polarity.tsv", count=40)
    overrides = [o.replace("DATA", str(data)) for o in overrides]
    cfg = make_cfg(*overrides, fast=False)
    with pytest.raises(Exception) as error:
        build(cfg)
    cause = user_error_in(error.value)
    assert cause is not None and message in str(cause), str(error.value)[-400:]


@pytest.fixture
def sst(shared_data):
    return shared_data / "sst"


def test_the_shared_sst_copy_has_the_published_sizes(sst, tmp_path):
    fine = SentimentTreebank(str(sst), labels="fine").splits(tmp_path)
    binary = SentimentTreebank(str(sst), labels="binary").splits(tmp_path)
    assert [len(fine[s]) for s in ("train", "valid", "test")] == [8544, 1101, 2210]
    assert [len(binary[s]) for s in ("train", "valid", "test")] == [6920, 872, 1821]
    assert sum(e.tree.size for e in fine["train"]) == 318582
    assert sum(len(e.tokens) for e in fine["train"]) == 163563


@pytest.mark.slow
def test_a_resumed_classifier_remembers_its_best_epoch(make_cfg, tmp_path):
    data = polarity_file(tmp_path / "polarity.tsv", count=200)
    common = ["model=bow", "data=labelled_file", f"data.path={data}", "model.embedding_dim=8", "optimizer.lr=0.05"]
    first = make_cfg(*common, "trainer.max_epochs=3", fast=False)
    train(first)
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)["best_validation"]
    assert saved["epoch"] >= 0 and saved["acc"] > 0.5 and saved["state"] is not None
    resumed = make_cfg(*common, "trainer.max_epochs=4", "ckpt_path=last", fast=False)
    metrics = train(resumed)
    assert metrics["val/acc_best"] >= saved["acc"]


@pytest.mark.slow
def test_a_wandb_classifier_run_logs_its_scores_and_confusion_matrix(make_cfg, tmp_path, monkeypatch):
    from wandb_records import read_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    data = polarity_file(tmp_path / "polarity.tsv", count=100)
    metrics = train(make_cfg("model=bow", "data=labelled_file", f"data.path={data}", "model.embedding_dim=8",
                             "trainer.max_epochs=2", "logger=wandb", fast=False))
    logs = list((tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 1
    run = read_run(logs[0])
    assert {"val/acc", "val/macro_f1", "train/loss_epoch"} <= run["history_keys"]
    assert any(key.startswith("confusion_matrix") for key in run["history_keys"]), "the confusion matrix image"
    assert run["summary"]["test/acc"] == pytest.approx(metrics["test/acc"])
    assert [a[1] for a in run["artifacts"]] == ["classifier"]


SENTENCE_PRESETS = ["kim_cnn_mr", "kim_cnn_sst", "tai_lstm_sst", "tai_bilstm_sst", "tai_bilstm2_sst",
                    "tai_treelstm_sst", "bow_mr"]


@pytest.mark.slow
@pytest.mark.parametrize("preset", SENTENCE_PRESETS)
def test_each_sentence_preset_builds_on_the_shared_data_and_takes_a_step(preset, shared_data, tmp_path):
    from conftest import compose_config

    from lm_experiments.run.training import build

    corpus = "mr" if preset.endswith("_mr") else "sst"
    cfg = compose_config([f"experiment={preset}", f"data.path={shared_data / corpus}", "logger=none",
                          "trainer.accelerator=cpu"], tmp_path / "run", tmp_path / "cache")
    assert cfg.task_name == preset
    datamodule, task, trainer = build(cfg)
    batch = next(iter(datamodule.train_dataloader()))
    loss = task.training_step(batch, 0)
    loss.backward()
    assert torch.isfinite(loss) and len(task.labels) == (2 if corpus == "mr" else 5)


# --- downloads: real, verified, and clear when they fail ---------------------------------------------------

def test_mr_is_fetched_once_unpacked_as_utf8_and_checked(tmp_path):
    import io
    import tarfile

    archive = tmp_path / "rt-polaritydata.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, word in (("rt-polarity.pos", "caf\xe9 good"), ("rt-polarity.neg", "bad")):
            data = "".join(f"{word} {i} .\n" for i in range(MovieReviews.lines_per_file)).encode("cp1252")
            info = tarfile.TarInfo(f"rt-polaritydata/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    source = MovieReviews(fold=2, url=archive.as_uri())
    splits = source.splits(tmp_path / "cache")
    assert sum(map(len, splits.values())) == 2 * MovieReviews.lines_per_file
    cached = tmp_path / "cache" / "downloads" / "rt-polaritydata" / "rt-polarity.pos"
    assert cached.read_text(encoding="utf-8").startswith("caf\xe9 good 0 .")
    archive.unlink()  # the cache is used from now on
    assert MovieReviews(fold=2).splits(tmp_path / "cache")["test"] == splits["test"]


@pytest.mark.slow
def test_mr_and_sst_downloads_fail_clearly_offline_or_corrupt(tmp_path):
    with pytest.raises(UserError, match=r"Could not download the mr corpus .* pass data.path="):
        MovieReviews(url="http://127.0.0.1:9/rt-polaritydata.tar.gz").splits(tmp_path / "cache")
    fake = tmp_path / "trees.zip"
    fake.write_bytes(b"not the treebank")
    with pytest.raises(UserError, match=r"The sst download from .* is corrupt \(md5"):
        SentimentTreebank(url=fake.as_uri()).splits(tmp_path / "cache")
    assert not list((tmp_path / "cache" / "downloads").glob("*.zip")), "nothing unverified is kept"
