"""The benchmark scripts run end to end (tiny corpora, both tools) and print their comparison tables."""

import gzip
import os
import subprocess
import sys

import pytest
from conftest import ROOT


def lee_as_text8(tmp_path):
    """Lee's corpus in text8's form: lower-case letters, one line."""
    from lm_experiments.data.corpora import gensim_test_file

    text = gensim_test_file("lee_background.cor").read_text(encoding="latin-1").lower()
    words = "".join(ch if ch.isalpha() else " " for ch in text).split()
    corpus = tmp_path / "tiny.txt.gz"
    with gzip.open(corpus, "wt") as handle:
        handle.write(" " + " ".join(words))
    return corpus


@pytest.mark.slow
@pytest.mark.parametrize("model", ["skipgram", "fasttext"])
def test_word2vec_vs_gensim_prints_a_table(tmp_path, model):
    corpus = lee_as_text8(tmp_path)
    env = dict(os.environ, LM_EXPERIMENTS_CACHE=str(tmp_path / "cache"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "word2vec_vs_gensim.py"), "--corpus", str(corpus), "--epochs", "1",
         "--dim", "8", "--model", model, "--bucket", "1000", "callbacks.embedding_map=null"],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout[result.stdout.index("lm_experiments"):]
    for row in ("analogy", "ws353", "simlex", "words/sec", "time to vectors", "time-to-vectors speed-up"):
        assert row in table


@pytest.mark.slow
def test_huffman_trees_trains_gensim_on_both_trees_both_ways(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "huffman_trees.py"), "--corpus",
                             str(lee_as_text8(tmp_path)), "--epochs", "1", "--dim", "8", "--seeds", "1"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith(("as given", "reversed"))
            and "tree:" not in line]
    assert [" ".join(row[:-3]) for row in rows] == ["as given gensim's", "as given ours", "reversed gensim's",
                                                    "reversed ours"]


def test_ngram_vs_kenlm_prints_equal_perplexities(lm_corpus):
    pytest.importorskip("kenlm")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ngram_vs_kenlm.py"), "--corpus",
                             str(lm_corpus), "--order", "3"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    row = next(line for line in result.stdout.splitlines() if line.startswith("test perplexity"))
    ours, kenlm, ratio = (float(x) for x in row.split()[2:])
    assert ours == pytest.approx(kenlm, rel=1e-4) and ratio == pytest.approx(1.0, abs=1e-4)


@pytest.mark.slow
def test_the_gpu_session_script_runs_its_steps_on_the_cpu_without_what_the_device_lacks(tmp_path, shared_data):
    """The dry run of a step: the same train.py command the device runs, on the CPU, for seconds, with wandb,
    pooch, datasets and the Hydra plugins made unimportable as they are on the device image."""
    env = dict(os.environ, GPU_SESSION_DRY="1", OUT=str(tmp_path / "out"),
               LM_EXPERIMENTS_CACHE=str(tmp_path / "cache"))
    result = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_session.sh"), "zaremba"], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "zaremba: exit 0" in result.stdout, (tmp_path / "out" / "zaremba.log").read_text()[-3000:]
    assert "test/ppl" in result.stdout


@pytest.mark.slow
def test_the_gpu_kernel_sweep_times_the_kernel_on_a_real_chunk(tmp_path):
    """Under Triton's interpreter on tiny inputs: a row per setting, with the programs a chunk makes."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_kernel_sweep.py"), "--corpus",
                             str(lee_as_text8(tmp_path)), "--device", "cpu", "--dim", "8", "--words", "120",
                             "--centers", "4", "64", "--warps", "1", "--repeat", "1", "--model", "cbow"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("120 ")]
    assert [row[:3] for row in rows] == [["120", "4", "1"], ["120", "64", "1"]]
    kept = int(rows[0][3]) * 4
    assert int(rows[1][3]) == 1 and 0 < kept <= 124, "programs = kept words / centers per program, rounded up"
    assert all(float(row[5].replace(",", "")) > 0 for row in rows)


@pytest.mark.slow
def test_the_scale_benchmark_prints_a_row_per_step_with_its_growth(tmp_path):
    if not os.path.exists("/usr/bin/time"):
        pytest.skip("GNU time is not installed")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--corpus",
                             str(lee_as_text8(tmp_path)), "--factors", "1", "2", "--steps", "tokenize", "kn5"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()
            if line.split() and line.split()[0] in ("tokenize", "cooccur", "kn5")}
    assert sorted(rows) == ["kn5", "tokenize"]
    assert all(len(row) == 1 + 3 * 2 + 2 for row in rows.values()), rows  # (seconds, s, GB) x 2 factors, 2 growths


def test_glove_c_is_handed_our_tokens_line_for_line(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from glove_vs_glovec import write_for_glove_c

    from lm_experiments.data.vocab import Vocabulary

    vocab = Vocabulary(["<unk>", "<eos>", "the", "cat", "sat"], [3, 2, 5, 4, 3])
    stream = [2, 3, 0, 1, 4, 2, 1, 3]  # the cat <unk> | sat the | cat
    vocab_file, corpus = write_for_glove_c(vocab, stream, tmp_path)
    assert vocab_file.read_text() == "the 5\ncat 4\nsat 3\n"
    lines = [line.split() for line in corpus.read_text().split("\n")]  # glove.c reads whitespace-split tokens
    assert lines == [["the", "cat", "<unk>"], ["sat", "the"], ["cat"]]


@pytest.mark.slow
def test_time_to_result_prints_a_row_per_model_and_skips_a_missing_peer(tmp_path):
    corpus = lee_as_text8(tmp_path)
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "time_to_result.py"), "--rows", "cbow,lstm,transformer,glove,kn5",
         "--text8", str(corpus), "--dim", "8", "--examples", str(tmp_path / "no-examples"), "--nanogpt",
         str(tmp_path / "no-nanogpt"), "--glove-build", str(tmp_path / "no-glove"), "--kenlm-bin",
         str(tmp_path / "no-kenlm"), "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("| ")}
    assert "gensim" in rows["cbow"] and "words/s" in rows["cbow"] and rows["cbow"].count(" / ") >= 4
    assert "skipped" in rows["lstm"] and "pytorch/examples" in rows["lstm"]
    assert "skipped" in rows["transformer"] and "karpathy/nanoGPT" in rows["transformer"]
    assert "skipped" in rows["glove"] and "stanfordnlp/GloVe" in rows["glove"]
    assert "skipped" in rows["kn5"] and "kpu/kenlm" in rows["kn5"]


def test_lmplz_is_handed_the_tokens_our_ngram_run_trains_on(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from time_to_result import kenlm_training_text

    from lm_experiments.data.datamodule import held_out_splits

    corpus = tmp_path / "text.txt"
    lines = ["a yak sat"] + ["The cat sat, on the mat.", "A dog: the dog sat!", "", "the cat saw 3 dogs"] * 10 + [
        "zebra ends it"]
    corpus.write_text("\n".join(lines) + "\n")
    text, tokens = kenlm_training_text(corpus, tmp_path, holdout=0.05, min_count=5)
    words = [line.lower().translate(str.maketrans(",.:!3", "     ")).split() for line in lines]
    stream = [word for line in words for word in [*line, "<eos>"]]
    train = held_out_splits({"train": stream}, 0.05)["train"]
    assert tokens == len(train)
    written = text.read_text().splitlines()
    assert written[:3] == ["a <rare> sat", "the cat sat on the mat", "a dog the dog sat"], \
        "our tokenizer, lower-cased; a word under min_count is one <rare> word"
    rare = {"yak", "zebra", "ends", "it"}  # once each
    assert " ".join(written).split() == ["<rare>" if w in rare else w for w in train if w != "<eos>"]
    assert len(written) == train.count("<eos>") + (train[-1] != "<eos>"), "lines end where an <eos> stands"
    assert "zebra" not in text.read_text(), "the held-out tail is left out"


def test_the_median_step_throughput_is_read_from_our_cumulative_logged_speeds(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from time_to_result import median_interval_throughput

    # steps of 100 tokens taking 1 s each, except a slow first interval (warm-up) and one slow one later
    seconds = {9: 20.0, 19: 30.0, 29: 40.0, 39: 60.0, 49: 70.0}
    rows = ["step,train/words_per_sec"] + [f"{step},{(step + 1) * 100 / s}" for step, s in seconds.items()]
    (tmp_path / "metrics.csv").write_text("\n".join(rows) + "\n")
    assert median_interval_throughput(tmp_path / "metrics.csv", 100) == pytest.approx(100.0)
