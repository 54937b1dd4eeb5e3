"""The fused GPU kernel alone: words/s and the memory bandwidth it reaches on real chunks, over chunk size x
centers per program x warps per program, to choose `data.batch_words`, `task.updater.centers_per_program` and
`task.updater.warps` on a GPU.

    python benchmarks/gpu_kernel_sweep.py --corpus ../shared/data/text8-head.txt.gz \
        --words 262144 1048576 --centers 4 16 64 --warps 1 2 4

The chunk is the real thing: the corpus's first `words` words through our vocabulary
and view (subsampling, dynamic windows), tables the size of the run's, noise drawn by
the objective, each launch timed with CUDA events after a compiling launch (the tables
keep training between launches, as they would in a run). The byte count is the floor
the chunk's examples move: every row an example reads written back once (its input rows,
its target and noise rows or the target's Huffman path), 4 bytes per float; against
~4.3 TB/s measured for a device-to-device copy on an H200 (the device tool's KINDS.md).
`--device cpu` runs it under Triton's interpreter, for a check on tiny inputs.
"""

import argparse
import os
import sys
import time
from functools import partial


def parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, help="a text8-style file (plain, .gz or .zip)")
    parser.add_argument("--model", choices=["skipgram", "cbow"], default="skipgram")
    parser.add_argument("--sampler", choices=["negative", "hierarchical"], default="negative")
    parser.add_argument("--dim", type=int, default=200)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--words", type=int, nargs="+", default=[262_144, 1_048_576], help="chunk sizes")
    parser.add_argument("--centers", type=int, nargs="+", default=[4, 16, 64], help="centers per program")
    parser.add_argument("--warps", type=int, nargs="+", default=[1, 2, 4], help="warps per program")
    parser.add_argument("--repeat", type=int, default=5, help="timed launches per setting (median)")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="cpu: Triton's interpreter")
    return parser.parse_args()


def main():
    args = parse()
    if args.device == "cpu":
        os.environ["TRITON_INTERPRET"] = "1"  # before Triton is imported
    import numpy as np
    import torch

    from lm_experiments.data.batches import TokenChunk
    from lm_experiments.data.reading import open_text
    from lm_experiments.data.views.base import ViewOptions
    from lm_experiments.data.views.word_windows import WordWindowView
    from lm_experiments.data.vocab import Vocabulary
    from lm_experiments.models.cbow import CBOW
    from lm_experiments.models.skipgram import SkipGram
    from lm_experiments.objectives.hierarchical import HierarchicalSoftmax
    from lm_experiments.objectives.negative import NegativeSampling
    from lm_experiments.tasks.embedding import WordEmbeddingTask
    from lm_experiments.updaters.fused import FusedGPU

    with open_text(args.corpus) as handle:
        words = handle.read().split()[: max(args.words)]
    if len(words) < max(args.words):
        sys.exit(f"{args.corpus} has {len(words):,} words, fewer than --words {max(args.words):,}")
    kinds, counts = np.unique(words, return_counts=True)
    vocab = Vocabulary.build(kinds.tolist(), counts, min_count=args.min_count)
    ids = torch.from_numpy(vocab.lookup(words))
    encoder = (SkipGram if args.model == "skipgram" else CBOW)(vocab, vector_size=args.dim)
    objective = partial(NegativeSampling, negative=args.negative) if args.sampler == "negative" else \
        partial(HierarchicalSoftmax)
    torch.manual_seed(0)
    task = WordEmbeddingTask(vocab, encoder, objective, partial(torch.optim.SGD, lr=0.025)).to(args.device)
    view = WordWindowView(vocab, ViewOptions(window=args.window, sample=args.sample))

    def rows_per_example(chunk) -> float:
        """Rows one example of `chunk` reads (and writes back), on average: its input rows (a skip-gram example's
        one word, a CBOW example's context words) and its output rows (target and noise words, or the target's
        Huffman path)."""
        examples = task.model.examples(chunk)
        inputs = examples.mask.sum(1).double().mean() if args.model == "cbow" else 1.0
        if args.sampler == "negative":
            return float(inputs) + 1 + args.negative
        return float(inputs + task.objective.mask.sum(1)[task.model.targets(examples)].double().mean())

    def timed(kernel: FusedGPU, chunk) -> tuple[float, int]:
        """Seconds per launch (median of --repeat) and the examples one launch trains."""
        noise = kernel.noise_for(task, chunk)
        _, examples = kernel.launch(task, chunk, noise, 0.025)  # compiles; the tables start training
        times = []
        for _ in range(args.repeat):
            if args.device == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                kernel.launch(task, chunk, noise, 0.025)
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end) / 1000)
            else:
                started = time.perf_counter()
                kernel.launch(task, chunk, noise, 0.025)
                times.append(time.perf_counter() - started)
        return float(np.median(times)), int(examples)

    device = torch.cuda.get_device_name() if args.device == "cuda" else "CPU (Triton interpreter)"
    print(f"{args.model} x {args.sampler}, dim {args.dim}, window {args.window}, vocabulary {len(vocab):,}; {device}")
    print(f"{'words':>10}{'centers':>9}{'warps':>7}{'programs':>10}{'ms':>10}{'words/s':>14}{'GB/s':>9}")
    for size in args.words:
        chunk = view.on_device(TokenChunk(ids[:size].to(args.device)))
        rows = rows_per_example(chunk)
        for centers in args.centers:
            for warps in args.warps:
                seconds, examples = timed(FusedGPU(centers, warps), chunk)
                moved = examples * rows * args.dim * 4 * 2  # each row read and written once
                programs = -(-chunk.size // centers)
                print(f"{size:>10,}{centers:>9}{warps:>7}{programs:>10,}{seconds * 1e3:>10.2f}"
                      f"{size / seconds:>14,.0f}{moved / seconds / 1e9:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
