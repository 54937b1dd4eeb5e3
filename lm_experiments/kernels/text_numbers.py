"""float32 numbers as Python's `"%.9g"` writes them, in a compiled loop: the text of `vectors.txt`.

Formatting each number in Python costs about 125 ns (0.6 s for text8-head's 22,541 x 200
vectors, 3 s for a 70,000 x 300 vocabulary), more than writing the file. Nine significant
digits make every float32 read back exactly. The digits are exact integer arithmetic,
not floating point: a float32 is M x 2^E with M below 2^24, so its value times 10^k is
M x 5^k x 2^(E + k), which fits 64 bits for k <= 16 (every value from 1e-8 up), and the
last digit is rounded half to even from the exact remainder, as Python rounds. Values
outside that range (below 1e-8 or from 1e9 in magnitude, and NaN) are flagged and their
rows formatted by Python instead (`vectors/writing.py`), so the text is Python's byte for
byte (tests/test_export.py compares them value for value).
"""

import math

import numpy as np
from numba import njit

DIGITS = 9
WIDTH = 16  # the longest "%.9g" a handled value can need: "-0.000123456789"
_DOT, _MINUS, _ZERO, _E, _PLUS, _SPACE = 46, 45, 48, 101, 43, 32
_POWERS_OF_5 = np.array([5**k for k in range(17)], dtype=np.uint64)


@njit(cache=True)
def _scaled(mantissa, exponent, k):
    """round_half_even(mantissa x 2^exponent x 10^k) for 0 <= k <= 16, exactly (64-bit integers)."""
    n = np.uint64(mantissa) * _POWERS_OF_5[k]
    shift = exponent + k
    if shift >= 0:
        return n << np.uint64(shift)
    s = np.uint64(-shift)
    if s >= 64:
        return np.uint64(0)
    q = n >> s
    rest = n - (q << s)
    half = np.uint64(1) << (s - np.uint64(1))
    if rest > half or (rest == half and (q & np.uint64(1)) == 1):
        q += np.uint64(1)
    return q


@njit(cache=True)
def _digits(value):
    """(9 significant digits as an integer, the decimal exponent), or (0, 99) where the value is out of range."""
    mantissa_f, binary = math.frexp(abs(value))   # value = mantissa_f x 2^binary, mantissa_f in [0.5, 1)
    mantissa = np.int64(mantissa_f * 16777216.0)   # exact: a float32 has 24 significant bits
    exponent = binary - 24
    decimal = np.int64(math.floor(math.log10(abs(value))))
    for _ in range(3):
        k = DIGITS - 1 - decimal
        if k < 0 or k > 16:
            return np.uint64(0), np.int64(99)
        d = _scaled(mantissa, exponent, k)
        if d >= np.uint64(1_000_000_000):
            decimal += 1
        elif d < np.uint64(100_000_000):
            decimal -= 1
        else:
            return d, decimal
    return np.uint64(0), np.int64(99)


@njit(cache=True)
def _write(out, at, value, digits):
    """`"%.9g" % value` into out[at:], a handled value; returns the new end, or -1 where Python must format it."""
    if value != value:
        return -1
    negative = value < 0 or (value == 0 and math.copysign(1.0, value) < 0)
    if negative:
        out[at] = _MINUS
        at += 1
    if value == 0:
        out[at] = _ZERO
        return at + 1
    d, decimal = _digits(value)
    if decimal == 99:
        return -1
    for i in range(DIGITS - 1, -1, -1):
        digits[i] = _ZERO + np.uint8(d % np.uint64(10))
        d //= np.uint64(10)
    last = DIGITS - 1  # trailing zeros go ("%g" without "#")
    while last > 0 and digits[last] == _ZERO:
        last -= 1
    if -4 <= decimal < DIGITS:
        if decimal >= 0:
            for i in range(decimal + 1):
                out[at] = digits[i]
                at += 1
            if last > decimal:
                out[at] = _DOT
                at += 1
                for i in range(decimal + 1, last + 1):
                    out[at] = digits[i]
                    at += 1
        else:
            out[at] = _ZERO
            out[at + 1] = _DOT
            at += 2
            for _ in range(-decimal - 1):
                out[at] = _ZERO
                at += 1
            for i in range(last + 1):
                out[at] = digits[i]
                at += 1
        return at
    out[at] = digits[0]
    at += 1
    if last > 0:
        out[at] = _DOT
        at += 1
        for i in range(1, last + 1):
            out[at] = digits[i]
            at += 1
    out[at] = _E
    out[at + 1] = _MINUS if decimal < 0 else _PLUS
    power = abs(decimal)
    if power >= 10:
        out[at + 2] = _ZERO + np.uint8(power // 10)
        out[at + 3] = _ZERO + np.uint8(power % 10)
        return at + 4
    out[at + 2] = _ZERO
    out[at + 3] = _ZERO + np.uint8(power)
    return at + 4


@njit(cache=True)
def format_rows(vectors):
    """vectors (n, d) float32 -> (text uint8, ends (n,) int64, handled (n,) bool): row i is text[ends[i-1]:ends[i]],
    its numbers joined by spaces; a row not handled is empty and left to Python."""
    n, d = vectors.shape
    out = np.empty(n * d * (WIDTH + 1), np.uint8)
    ends = np.empty(n, np.int64)
    handled = np.ones(n, np.bool_)
    digits = np.empty(DIGITS, np.uint8)  # one value's digits (scratch)
    at = 0
    for row in range(n):
        start = at
        for j in range(d):
            if j:
                out[at] = _SPACE
                at += 1
            at = _write(out, at, np.float64(vectors[row, j]), digits)
            if at < 0:
                handled[row] = False
                at = start
                break
        ends[row] = at
    return out[:at], ends, handled
