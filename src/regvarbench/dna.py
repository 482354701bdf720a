"""DNA sequence utilities: one-hot encoding, reverse complement, GC content, fitting to a length."""

from __future__ import annotations

import numpy as np

ALPHABET = "ACGT"
_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
# Byte -> channel lookup; anything that is not A/C/G/T (N, IUPAC codes) encodes as all zeros.
_LOOKUP = np.full(256, 4, dtype=np.int64)
for _i, _b in enumerate(ALPHABET):
    _LOOKUP[ord(_b)] = _i
    _LOOKUP[ord(_b.lower())] = _i
_CODES = _LOOKUP.astype(np.uint8)


def reverse_complement(seq: str) -> str:
    """Reverse complement of a DNA string (case kept, N stays N).

    Parameters
    ----------
    seq : str
        DNA sequence.

    Returns
    -------
    str
    """
    return seq.translate(_COMPLEMENT)[::-1]


def gc_content(seq: str) -> float:
    """Fraction of G/C among A/C/G/T bases (NaN for a sequence without any).

    Parameters
    ----------
    seq : str
        DNA sequence (any case).

    Returns
    -------
    float
        In [0, 1], or NaN.
    """
    s = seq.upper()
    acgt = sum(s.count(b) for b in ALPHABET)
    return (s.count("G") + s.count("C")) / acgt if acgt else float("nan")


def base_codes(seqs: list[str] | str) -> np.ndarray:
    """Equal-length sequences as uint8 codes (n, length): A, C, G, T = 0-3, anything else 4.

    One table lookup over the joined bytes; the compact form one_hot and the scorer build on.

    Parameters
    ----------
    seqs : list of str, or str
        Sequences of one length (a single string is one sequence).

    Returns
    -------
    numpy.ndarray of uint8, shape (n, length)
        ``(0, 0)`` for an empty list.

    Raises
    ------
    ValueError
        When the sequences differ in length.
    """
    if isinstance(seqs, str):
        seqs = [seqs]
    if not seqs:
        return np.zeros((0, 0), dtype=np.uint8)
    length = len(seqs[0])
    if any(len(s) != length for s in seqs):
        raise ValueError("one_hot needs sequences of equal length")
    return _CODES[np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)].reshape(len(seqs), length)


def one_hot(seqs: list[str] | str, dtype=np.float32) -> np.ndarray:
    """One-hot encode equal-length sequences.

    Returns an array of shape (n, 4, length) in A, C, G, T channel order (the channels-first
    layout of PyTorch Conv1d); non-ACGT bases are all-zero columns.
    """
    if isinstance(seqs, str):
        seqs = [seqs]
    if not seqs:
        return np.zeros((0, 4, 0), dtype=dtype)
    codes = base_codes(seqs)
    eye = np.concatenate([np.eye(4, dtype=dtype), np.zeros((1, 4), dtype=dtype)])
    return np.ascontiguousarray(eye[codes].transpose(0, 2, 1))


def fit_length(seq: str, length: int) -> str:
    """Centre-crop or N-pad a sequence to ``length`` keeping base ``len(seq)//2`` at ``length//2``.

    Variant windows put the variant at index len//2; this keeps it there for any model length.

    Parameters
    ----------
    seq : str
        Sequence.
    length : int
        Target length.

    Returns
    -------
    str
        ``length`` bases.
    """
    n = len(seq)
    if n == length:
        return seq
    if n > length:
        start = n // 2 - length // 2
        return seq[start:start + length]
    left = length // 2 - n // 2
    return "N" * left + seq + "N" * (length - n - left)
