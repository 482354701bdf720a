"""Coordinate-only window chunks (make-windows --layout loci) and the bulk genome cuts behind them.

The windows score cuts from a loci chunk must be exactly the windows the per-variant path wrote
as text (the pre-bulk implementation, kept here as ``direct_windows``), for SNVs, MNVs, 1-bp and
20-bp insertions and deletions, a delins, near both contig ends, on both strands; scores from
either layout must be byte-identical; a damaged loci chunk is one clear error naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from regvarbench.alleles import classify, trim_alleles, window_spans
from regvarbench.cli import main
from regvarbench.dna import reverse_complement
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.models import cnn, load_model
from regvarbench.score import read_windows
from regvarbench.windows import build_windows

SIZES = {"chr1": 400, "chr2": 130, "chr3": 97}


@pytest.fixture
def genome_path(tmp_path: Path) -> Path:
    """Three contigs: 60-column lines, 70-column lines with lower-case runs, one line."""
    rng = np.random.default_rng(5)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in SIZES.items()}
    seqs["chr2"] = seqs["chr2"][:30] + seqs["chr2"][30:50].lower() + seqs["chr2"][50:]
    lines = []
    for name, width in (("chr1", 60), ("chr2", 70), ("chr3", 1000)):
        lines.append(f">{name}")
        lines += [seqs[name][i:i + width] for i in range(0, len(seqs[name]), width)]
    path = tmp_path / "genome.fa"
    path.write_text("\n".join(lines) + "\n")
    return path


def direct_windows(variants: pd.DataFrame, genome: Genome, length: int, rc: bool = False) -> pd.DataFrame:
    """The per-variant implementation make-windows had before the bulk cuts (one fetch per piece)."""
    rows = []
    for vid, dataset, cell, chrom, pos, ref, alt in zip(*(variants[c] for c in
                                                          ["variant_id", "dataset", "cell_line", "chrom", "pos",
                                                           "ref", "alt"])):
        name = genome.resolve(chrom)
        size = genome.sizes[name]
        edit = trim_alleles(pos, ref, alt)
        spans = window_spans(edit, length)
        seq = genome.fetch(name, spans.ref_start, spans.ref_end)
        alt_seq = (genome.fetch(name, spans.alt_start, edit.start) + edit.alt
                   + genome.fetch(name, edit.start + len(edit.ref), spans.alt_end))
        n_padded = max(0, -spans.ref_start) + max(0, spans.ref_end - size)
        row = (vid, dataset, cell, seq, alt_seq, n_padded, name, spans.ref_start, spans.alt_start, spans.alt_end,
               classify(ref, alt))
        rows += [row + ("+",), (vid, dataset, cell, reverse_complement(seq), reverse_complement(alt_seq),
                                *row[5:], "-")] if rc else [row]
    columns = ["variant_id", "dataset", "cell_line", "ref_seq", "alt_seq", "n_padded", "chrom", "window_start",
               "alt_start", "alt_end", "variant_class"] + (["strand"] if rc else [])
    return pd.DataFrame(rows, columns=columns)


def mixed_variants(genome_path: Path, length: int) -> pd.DataFrame:
    """SNVs (also at both contig ends), MNVs, 1-bp and 20-bp insertions and deletions, a delins."""
    half = length // 2
    with Genome(genome_path) as g:
        def ref(chrom, pos, n=1):
            return g.fetch(chrom, pos - 1, pos - 1 + n)
        spots = [("chr1", 1, 1, "snv"), ("chr1", SIZES["chr1"], 1, "snv"), ("chr2", 2, 2, "mnv"),
                 ("chr2", 35, 1, "snv"), ("chr3", SIZES["chr3"] - 1, 2, "mnv"), ("chr1", 150, 3, "mnv"),
                 ("chr1", half + 30, 1, "ins1"), ("chr1", half + 31, 1, "ins20"), ("chr2", half + 20, 2, "del1"),
                 ("1", 200, 21, "del20"), ("chr1", 250, 3, "delins"), ("chr3", SIZES["chr3"] // 2, 1, "snv")]
        rows = []
        for chrom, pos, n, kind in spots:
            r = ref(chrom, pos, n)
            flip = "".join("ACGT"[("ACGT".index(b) + 1) % 4] for b in r)
            alt = {"snv": flip, "mnv": flip, "ins1": r + "G", "ins20": r + "ACGTTGCAACGTTGCAACGT",
                   "del1": r[0], "del20": r[0], "delins": flip[0] * 4}[kind]
            rows.append((chrom, pos, r, alt))
    return pd.DataFrame({"variant_id": [f"mx:{i}" for i in range(len(rows))], "dataset": "mx", "cell_line": "HepG2",
                         "chrom": [r[0] for r in rows], "pos": [r[1] for r in rows], "ref": [r[2] for r in rows],
                         "alt": [r[3] for r in rows]})


def test_fetch_array_equals_fetch_everywhere(genome_path: Path) -> None:
    with Genome(genome_path) as g:
        for chrom, size in SIZES.items():
            starts = np.array([-12, -1, 0, 1, 29, 59, 60, 61, size - 13, size - 1, size, size + 4])
            for length in (1, 13, 61, 150):
                cut = g.fetch_array(chrom, starts, length)
                assert cut.shape == (len(starts), length)
                expected = [g.fetch(chrom, int(s), int(s) + length) for s in starts]
                assert [row.tobytes().decode() for row in cut] == expected
                assert g.fetch_strings([chrom] * len(starts), starts, [length] * len(starts)) == expected
        assert g.fetch_array("2", [40], 5).tobytes().decode() == g.fetch("chr2", 40, 45)  # lower case read upper
        assert g.fetch_strings(["chr1", "chr2"], [3, 3], [0, 2]) == ["", g.fetch("chr2", 3, 5)]


@pytest.mark.parametrize("length", [51, 50])
@pytest.mark.parametrize("rc", [False, True])
def test_bulk_windows_equal_the_per_variant_windows(genome_path: Path, length: int, rc: bool) -> None:
    variants = mixed_variants(genome_path, length)
    with Genome(genome_path) as g:
        expected = direct_windows(variants, g, length, rc)
        got = build_windows(variants, g, length, reverse_complement=rc)
    assert set(got["variant_class"]) == {"snv", "mnv", "insertion", "deletion", "delins"}
    assert (got["n_padded"] > 0).sum() >= 3  # both ends of chr1, start of chr2, end of chr3
    pd.testing.assert_frame_equal(got, expected)


def write_both_layouts(tmp_path: Path, genome_path: Path, length: int, rc: bool) -> tuple[list[Path], list[Path]]:
    vpath = write_tsv(mixed_variants(genome_path, length), tmp_path / "mx.variants.tsv")
    extra = ["--reverse-complement"] if rc else []
    for layout in ("sequences", "loci"):
        assert main(["make-windows", "--variants", str(vpath), "--genome", str(genome_path), "--length", str(length),
                     "--chunk-size", "5", "--layout", layout, *extra, "--outdir", str(tmp_path / layout)]) == 0
    return (sorted((tmp_path / "sequences").glob("mx.windows.0*.tsv")),
            sorted((tmp_path / "loci").glob("mx.windows.0*.tsv.gz")))


@pytest.mark.parametrize("rc", [False, True])
def test_loci_chunks_read_back_as_the_text_chunks(tmp_path: Path, genome_path: Path, rc: bool) -> None:
    text, loci = write_both_layouts(tmp_path, genome_path, 51, rc)
    assert len(text) == len(loci) == 3
    assert read_tsv(loci[0]).columns.tolist() == (["variant_id", "dataset", "cell_line", "chrom", "pos", "ref", "alt",
                                                   "length"] + (["reverse_complement"] if rc else []))
    with Genome(genome_path) as g:
        for t, c in zip(text, loci):
            pd.testing.assert_frame_equal(read_windows(c, g), read_windows(t))
    assert sum(p.stat().st_size for p in loci) < sum(p.stat().st_size for p in text)
    summaries = [read_tsv(tmp_path / layout / "mx.windows_summary.tsv") for layout in ("sequences", "loci")]
    pd.testing.assert_frame_equal(*summaries)
    # a rerun gives the same bytes (gzip without a time stamp)
    first = [p.read_bytes() for p in loci]
    write_both_layouts(tmp_path, genome_path, 51, rc)
    assert [p.read_bytes() for p in loci] == first


def test_scores_from_either_layout_are_byte_identical(tmp_path: Path, genome_path: Path) -> None:
    text, loci = write_both_layouts(tmp_path, genome_path, 50, True)
    spec = {"model_name": "rand", "architecture": "cnn_small", "input_length": 50, "cell_line": "HepG2"}
    torch.manual_seed(0)
    model_dir = cnn.save_model(tmp_path / "rand__HepG2", load_model({**spec, "seed": 3}).model, spec)
    for name, chunks in (("text", text), ("loci", loci)):
        assert main(["score", "--model", str(model_dir), "--windows", *map(str, chunks), "--genome", str(genome_path),
                     "--precision", "fp32", "--outdir", str(tmp_path / f"s_{name}")]) == 0
    for k in range(3):
        a = (tmp_path / "s_text" / f"rand.mx.{k:05d}.scores.tsv").read_bytes()
        assert a == (tmp_path / "s_loci" / f"rand.mx.{k:05d}.scores.tsv").read_bytes()
        assert len(a.splitlines()) > 1



def test_one_call_over_several_chunks_writes_what_a_call_per_chunk_does(tmp_path: Path, genome_path: Path) -> None:
    """A packed SCORE task (--score_chunks_per_task) scores its chunks in one call; each table is the
    one a task of that chunk alone writes (with --prefix, as SCORE names it), byte for byte."""
    _, loci = write_both_layouts(tmp_path, genome_path, 50, False)
    spec = {"model_name": "rand", "architecture": "cnn_small", "input_length": 50, "cell_line": "HepG2"}
    model_dir = cnn.save_model(tmp_path / "rand__HepG2", load_model({**spec, "seed": 5}).model, spec)
    common = ("--model", str(model_dir), "--genome", str(genome_path), "--precision", "fp32")
    assert main(["score", *common, "--windows", *map(str, loci), "--outdir", str(tmp_path / "packed")]) == 0
    for k, chunk in enumerate(loci):
        prefix = f"rand.mx.{k:05d}"
        assert main(["score", *common, "--windows", str(chunk), "--prefix", prefix,
                     "--outdir", str(tmp_path / "single")]) == 0
        packed = (tmp_path / "packed" / f"{prefix}.scores.tsv").read_bytes()
        assert packed == (tmp_path / "single" / f"{prefix}.scores.tsv").read_bytes() and len(packed.splitlines()) > 1

def test_bad_loci_chunks_are_one_clear_error(tmp_path: Path, genome_path: Path, capsys) -> None:
    _, loci = write_both_layouts(tmp_path, genome_path, 51, False)
    model_dir = cnn.save_model(tmp_path / "m__HepG2", load_model({"model_name": "m", "architecture": "cnn_small",
                                                                   "input_length": 51, "seed": 1}).model,
                               {"model_name": "m", "architecture": "cnn_small", "input_length": 51})

    def score(path: Path, *extra: str) -> str:
        capsys.readouterr()
        assert main(["score", "--model", str(model_dir), "--windows", str(path), *extra,
                     "--outdir", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        return err

    assert "needs --genome" in score(loci[0]) and str(loci[0]) in score(loci[0])
    genome = ("--genome", str(genome_path))
    table = read_tsv(loci[0])
    cases = {
        "cut.windows.00000.tsv.gz": loci[0].read_bytes()[:40],
        "bytes.windows.00000.tsv.gz": loci[0].read_bytes()[:60] + b"\xff\xfe\x00\x9c" * 16,
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert name in score(tmp_path / name, *genome)
    edits = {
        "pos": ("pos", "x", "must hold integers"), "len": ("length", 0, "one window length"),
        "ref": ("ref", "A" if table.loc[0, "ref"] != "A" else "C", "genome genome.fa has"),
        "contig": ("chrom", "chr9", "not in genome"), "empty": ("alt", "", "empty value"),
    }
    for name, (col, value, message) in edits.items():
        bad = table.copy()
        bad[col] = bad[col].astype(object)
        bad.loc[0, col] = value
        path = write_tsv(bad, tmp_path / f"{name}.windows.00000.tsv.gz")
        err = score(path, *genome)
        assert str(path) in err and message in err, err
    with pytest.raises(InputError, match="needs --genome"):
        read_windows(loci[0])
