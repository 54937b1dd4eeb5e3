"""glibc's malloc tuned for training: a step's large freed blocks stay in the heap for the next step.

Every training step allocates and frees the same large blocks (a language model's
(B x T, V) logits and their gradients: 28 MB each for PTB's full softmax, 20 x 35 x 10,000
floats). glibc hands blocks above its mmap threshold to the system when they are freed
and maps them afresh next time, so each step faults them in page by page and zeroes them
again; its threshold adapts upwards as such blocks are freed, but in a process that has
imported Lightning it did so only partly. A fixed mmap threshold of 32 MB (glibc's largest)
and a trim threshold of 256 MB keep those blocks in the heap: the PTB LSTM of the PyTorch
example trained at 9,900 tokens/s instead of 7,600 on 2 cores, at the same peak memory
(benchmarks/README.md). The setting is the process's, made once a run starts
(`tune_malloc`, default true); thresholds the user set through glibc's own environment
variables (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`) are left as they are, and
other C libraries (macOS, musl) are not touched.
"""

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 2**20                  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)
TRIM_THRESHOLD = 256 * 2**20
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def tune_malloc() -> bool:
    """Set the thresholds above where the C library is glibc and the user set none; returns whether it did."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in USER_SETTINGS):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD,
                                                                                       TRIM_THRESHOLD))
