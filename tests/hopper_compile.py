"""Compile the fused GPU kernel for a Hopper GPU (sm_90) on a machine without one, and print each variant's
resource use as JSON: `python tests/hopper_compile.py [skipgram-negative cbow-hierarchical ...]` (default: all
four). Run without TRITON_INTERPRET (the interpreter would
run the kernel as Python and never compile it)."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget

from lm_experiments.kernels import gpu

POINTERS = ("ids", "sentence", "span", "rows", "counts", "noise", "codes", "points", "lengths")
SIGNATURE = {**dict.fromkeys(POINTERS, "*i64"), "table": "*fp32", "out": "*fp32", "results": "*fp32",
             "n": "i32", "row_stride": "i32", "path_stride": "i32", "dim": "i32", "lr": "fp32"}


def compile_variant(cbow: bool, hierarchical: bool, warps: int = 1) -> dict:
    """The kernel for dim 200, window 5, 5 negatives: registers, stack and local-memory bytes per thread."""
    kernel = gpu._train_chunk
    constants = dict(WINDOW=5, NEGATIVE=0 if hierarchical else 5, HIERARCHICAL=hierarchical, CBOW=cbow,
                     CONTEXT_INPUTS=True, CONTEXT_MEAN=True, MEAN=False, CENTERS=8, BLOCK=256)
    source = triton.compiler.ASTSource(
        fn=kernel, signature={name: SIGNATURE.get(name, "constexpr") for name in kernel.arg_names},
        constexprs={(kernel.arg_names.index(name),): value for name, value in constants.items()})
    compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options={"num_warps": warps})
    with tempfile.TemporaryDirectory() as tmp:
        cubin = Path(tmp) / "kernel.cubin"
        cubin.write_bytes(compiled.asm["cubin"])
        cuobjdump = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
        usage = subprocess.run([str(cuobjdump), "-res-usage", str(cubin)], capture_output=True, text=True,
                               check=True).stdout
    fields = dict(part.split(":") for part in usage.split() if part.split(":")[0] in ("REG", "STACK", "LOCAL"))
    return {key.lower(): int(value) for key, value in fields.items()}


if __name__ == "__main__":
    pairs = [pair.split("-") for pair in sys.argv[1:]] or [(c, h) for c in ("skipgram", "cbow")
                                                          for h in ("negative", "hierarchical")]
    variants = {f"{c}-{h}": compile_variant(c == "cbow", h == "hierarchical") for c, h in pairs}
    json.dump(variants, sys.stdout)
