"""Reference genome access through pyfaidx, with contig-name harmonisation and N padding.

``Genome.fetch`` cuts one interval (pyfaidx); ``Genome.fetch_array`` cuts many intervals of one
length from one contig at once, as bytes, by indexing a memory map of the FASTA with the
offsets of its ``.fai`` (any line width), so that a million variants cost array operations
rather than a million lookups. A bgzip-compressed FASTA (which pyfaidx reads) has no such map:
there ``fetch_array`` falls back to one ``fetch`` per interval, with the same result.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx

from .io import InputError

N_BASE = ord("N")
_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a"):ord("z") + 1] -= 32  # as pyfaidx's sequence_always_upper (str.upper on ASCII)
_BLOCK = 1 << 22  # positions gathered per step of fetch_array (bounds its temporary index arrays)
_LONG = 64  # fetch_strings cuts intervals this long one file slice each, shorter ones by array gathers


class Genome:
    """A FASTA reference opened with pyfaidx (index built beside it if missing).

    Contig names are matched leniently: ``1`` finds ``chr1`` and ``chr1`` finds ``1``
    (``MT``/``chrM`` included), so variant tables and genomes of either naming style meet.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"genome FASTA not found: {self.path}")
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), as_raw=True, sequence_always_upper=True,
                                        rebuild=False, build_index=True)
        except Exception as exc:  # pyfaidx raises several types for malformed FASTA
            raise InputError(f"cannot read genome FASTA {self.path}: {exc}") from exc
        self.sizes = {name: len(rec) for name, rec in self._fasta.items()}
        self._map: np.ndarray | None = None

    def resolve(self, chrom: str) -> str | None:
        """The genome's name for a contig written either way, or None when absent.

        Parameters
        ----------
        chrom : str
            Contig name, with or without ``chr`` (``M`` and ``MT`` interchangeable).

        Returns
        -------
        str or None
        """
        chrom = str(chrom)
        if chrom in self.sizes:
            return chrom
        bare = chrom[3:] if chrom.lower().startswith("chr") else chrom
        for cand in (bare, "chr" + bare, "MT" if bare == "M" else None, "chrM" if bare == "MT" else None):
            if cand and cand in self.sizes:
                return cand
        return None

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Sequence of the 0-based half-open interval [start, end), N-padded outside the contig.

        Parameters
        ----------
        chrom : str
            Contig, named either way (``resolve``).
        start, end : int
            0-based start and end; may lie outside the contig.

        Returns
        -------
        str
            ``max(0, end - start)`` upper-case bases.
        """
        name = self.resolve(chrom)
        if name is None:
            raise KeyError(f"contig {chrom!r} not in genome {self.path}")
        size = self.sizes[name]
        n = max(0, end - start)
        core = self._fasta[name][max(start, 0):min(end, size)] if min(end, size) > max(start, 0) else ""
        left = min(n, max(0, -start))  # an interval wholly outside the contig is n Ns, never more
        return "N" * left + core + "N" * (n - left - len(core))

    def fetch_array(self, chrom: str, starts, length: int) -> np.ndarray:
        """Bases of many intervals ``[start, start + length)`` of one contig, N-padded outside it.

        Parameters
        ----------
        chrom : str
            Contig, named either way (``resolve``).
        starts : array_like of int, shape (n,)
            0-based starts; may be negative or reach past the contig end (those bases are N).
        length : int
            Bases per interval (>= 0).

        Returns
        -------
        numpy.ndarray, uint8, shape (n, length)
            ASCII upper-case bases, row i = ``fetch(chrom, starts[i], starts[i] + length)``.
        """
        name = self.resolve(chrom)
        if name is None:
            raise KeyError(f"contig {chrom!r} not in genome {self.path}")
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        out = np.full((len(starts), max(int(length), 0)), N_BASE, dtype=np.uint8)
        if not out.size:
            return out
        data = self._memory_map()
        if data is None:  # bgzip-compressed: no byte offsets to index
            for i, start in enumerate(starts.tolist()):
                out[i] = np.frombuffer(self.fetch(name, start, start + length).encode("ascii"), dtype=np.uint8)
            return out
        rec = self._fasta.faidx.index[name]
        size, offset, lenc, lenb = self.sizes[name], int(rec.offset), int(rec.lenc), int(rec.lenb)
        steps = np.arange(length, dtype=np.int64)
        rows = max(1, _BLOCK // length)
        for b in range(0, len(starts), rows):
            pos = starts[b:b + rows, None] + steps
            inside = (pos >= 0) & (pos < size)
            pos = np.where(inside, pos, 0)
            where = offset + pos if lenc >= size else offset + (pos // lenc) * lenb + pos % lenc
            out[b:b + rows] = np.where(inside, _UPPER[data[where]], N_BASE)
        return out

    def fetch_strings(self, chroms, starts, lengths) -> list[str]:
        """The bases of many intervals as strings, cut in bulk: intervals of ``_LONG`` bases or more
        (windows) one slice of the memory-mapped file each, shorter ones (alleles) one ``fetch_array``
        per contig.

        Parameters
        ----------
        chroms : sequence of str, length n
            Contig of each interval, as the genome names it.
        starts, lengths : array_like of int, shape (n,)
            0-based start and length of each interval; bases beyond the contig are N.

        Returns
        -------
        list of str, length n
            ``fetch(chroms[i], starts[i], starts[i] + lengths[i])`` for each i, in the order given.
        """
        chroms = np.asarray(list(chroms), dtype=object)
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        out: list[str] = [""] * len(chroms)
        rest = lengths > 0
        if self._memory_map() is not None:  # windows: one slice of the file each
            sliced = np.flatnonzero(lengths >= _LONG)
            for i, text in zip(sliced.tolist(), self._slices(chroms[sliced], starts[sliced].tolist(),
                                                             lengths[sliced].tolist())):
                out[i] = text
            rest[sliced] = False
        short = np.flatnonzero(rest)  # the rest: one array gather per contig, as wide as its longest
        codes, names = pd.factorize(chroms[short])
        for k, name in enumerate(names):
            rows = short[codes == k]
            width = int(lengths[rows].max())
            cut = self.fetch_array(name, starts[rows], width).view(f"S{width}").ravel().astype(str).tolist()
            for i, text, n in zip(rows.tolist(), cut, lengths[rows].tolist()):
                out[i] = text[:n]
        return out

    def _slices(self, chroms, starts: list[int], lengths: list[int]) -> list[str]:
        """``fetch`` of each interval from the memory map: one contiguous slice of the file, line
        breaks removed, upper-cased, N-padded outside the contig."""
        data = self._memory_map()
        index, out = self._fasta.faidx.index, []
        for chrom, start, length in zip(chroms, starts, lengths):
            rec = index[chrom]
            size, offset, lenc, lenb = self.sizes[chrom], rec.offset, rec.lenc, rec.lenb
            lo, hi = max(start, 0), min(start + length, size)
            core = ""
            if hi > lo:
                first = offset + (lo // lenc) * lenb + lo % lenc
                last = offset + ((hi - 1) // lenc) * lenb + (hi - 1) % lenc + 1
                raw = data[first:last].tobytes()
                core = (raw.translate(None, b"\r\n") if lenb != lenc else raw).upper().decode("ascii")
            left = min(length, max(0, -start))
            out.append("N" * left + core + "N" * (length - left - len(core)))
        return out

    def _memory_map(self) -> np.ndarray | None:
        """The FASTA file as a read-only byte array (None for a bgzip-compressed file)."""
        if self._map is None and not getattr(self._fasta.faidx, "_bgzf", False):
            self._map = np.memmap(self.path, dtype=np.uint8, mode="r").view(np.ndarray)  # plain slices are faster
        return self._map

    def base(self, chrom: str, pos: int) -> str:
        """The base at a 1-based position.

        Parameters
        ----------
        chrom : str
            Contig, named either way (``resolve``).
        pos : int
            1-based position.

        Returns
        -------
        str
            One base (N outside the contig).
        """
        return self.fetch(chrom, pos - 1, pos)

    def close(self) -> None:
        self._map = None
        self._fasta.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
