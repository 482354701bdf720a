"""Reference genome access through pyfaidx, with contig-name harmonisation and N padding."""

from __future__ import annotations

import os
from pathlib import Path

import pyfaidx

from .io import InputError


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

    def resolve(self, chrom: str) -> str | None:
        """The genome's name for a contig written either way, or None when absent."""
        chrom = str(chrom)
        if chrom in self.sizes:
            return chrom
        bare = chrom[3:] if chrom.lower().startswith("chr") else chrom
        for cand in (bare, "chr" + bare, "MT" if bare == "M" else None, "chrM" if bare == "MT" else None):
            if cand and cand in self.sizes:
                return cand
        return None

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Sequence of the 0-based half-open interval [start, end), N-padded outside the contig."""
        name = self.resolve(chrom)
        if name is None:
            raise KeyError(f"contig {chrom!r} not in genome {self.path}")
        size = self.sizes[name]
        n = max(0, end - start)
        core = self._fasta[name][max(start, 0):min(end, size)] if min(end, size) > max(start, 0) else ""
        left = min(n, max(0, -start))  # an interval wholly outside the contig is n Ns, never more
        return "N" * left + core + "N" * (n - left - len(core))

    def base(self, chrom: str, pos: int) -> str:
        """The base at a 1-based position."""
        return self.fetch(chrom, pos - 1, pos)

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
