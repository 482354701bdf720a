"""Track models in genome flanks: make-windows records where each window lies (chrom,
window_start), and ``score --genome`` builds each Enformer/Borzoi input from the genome around the
window with the window's own bases pasted in (reverse-complemented whole on '-' rows); without a
genome, or with windows lacking loci, the window is N-padded and score warns."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx
import pytest
import torch

from regvarbench import cli
from regvarbench.dna import one_hot, reverse_complement
from regvarbench.genome import Genome
from regvarbench.io import read_tsv, write_tsv
from regvarbench.models import load_model, tracks
from regvarbench.score import SCORE_COLUMNS, read_windows, score_windows
from regvarbench.windows import build_windows

from .test_models_tracks import INPUT, build_enformer
from .test_windows import variants_table

LENGTH = 200  # window length: 2 of the tiny Enformer's 128-bp output bins cover it
CHR1, CHR2 = 5000, 3000
REPEAT = 400  # chr1[1000:1400] is copied to chr1[3000:3400]: equal windows, different flanks
BINS = slice(1, 3)  # tiny Enformer: 4 central 128-bp bins; the 200-bp window touches the middle two
TRACKS = [1, 2]
# (chrom, 1-based pos): near chr1's start (window_start -51), mid-contig, written '1' (resolved to
# chr1), near chr2's end (input runs past it), and the repeat's two copies
SPOTS = [("chr1", 50), ("chr1", 2500), ("1", 4200), ("chr2", 2990), ("chr1", 1201), ("chr1", 3201)]


@pytest.fixture
def genome_path(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    chr1 = list("".join(rng.choice(list("ACGT"), CHR1)))
    chr1[3000:3000 + REPEAT] = chr1[1000:1000 + REPEAT]
    chr1 = "".join(chr1)
    chr2 = "".join(rng.choice(list("ACGT"), CHR2))
    path = tmp_path / "genome.fa"
    path.write_text("".join(f">{name}\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60))
                            for name, seq in (("chr1", chr1), ("chr2", chr2))))
    return path


@pytest.fixture(scope="module")
def enformer_dir(tmp_path_factory) -> str:
    return build_enformer(tmp_path_factory.mktemp("enformer"))


def adapter_for(source: str):
    return load_model(tracks.build_spec("enformer", "enf_tiny", "HepG2", TRACKS, source=source, input_length=INPUT))


def windows_for(genome_path: Path, reverse_complement: bool = False) -> pd.DataFrame:
    with Genome(genome_path) as g:
        return build_windows(variants_table(genome_path, SPOTS, dataset="fl"), g, LENGTH,
                             reverse_complement=reverse_complement)


def expected_input(genome_path: Path, chrom: str, pos: int, window: str) -> str:
    """By hand from pyfaidx: genome[centre - L/2, centre + L/2) around the variant, N off the contig,
    with the forward window written over its span (the variant at index L/2, as in the window)."""
    fasta = pyfaidx.Fasta(str(genome_path), as_raw=True, sequence_always_upper=True)
    name = "chr1" if chrom == "1" else chrom
    centre = pos - 1
    lo, hi = centre - INPUT // 2, centre + INPUT // 2
    size = len(fasta[name])
    seq = "N" * max(0, -lo) + fasta[name][max(lo, 0):min(hi, size)] + "N" * max(0, hi - size)
    fasta.close()
    first = INPUT // 2 - LENGTH // 2
    return seq[:first] + window + seq[first + LENGTH:]


def direct_track_sum(source: str, inputs: list[str]) -> np.ndarray:
    """A forward pass of the port itself on hand-built inputs: tracks 1+2 over the central bins."""
    from enformer_pytorch import Enformer

    model = Enformer.from_pretrained(source).eval()
    with torch.inference_mode():
        y = model(torch.from_numpy(one_hot(inputs)).transpose(1, 2))["human"].transpose(1, 2)
    return y[:, TRACKS][:, :, BINS].double().sum(dim=(1, 2)).numpy()


def test_windows_carry_chrom_and_window_start(tmp_path, genome_path):
    variants = write_tsv(variants_table(genome_path, SPOTS, dataset="fl"), tmp_path / "fl.variants.tsv")
    assert cli.main(["make-windows", "--variants", str(variants), "--genome", str(genome_path), "--length",
                     str(LENGTH), "--reverse-complement", "--outdir", str(tmp_path / "w")]) == 0
    windows = read_windows(tmp_path / "w" / "fl.windows.00000.tsv")
    plus, minus = windows.iloc[0::2].reset_index(drop=True), windows.iloc[1::2].reset_index(drop=True)
    assert plus["chrom"].tolist() == ["chr1", "chr1", "chr1", "chr2", "chr1", "chr1"]  # '1' as the genome names it
    assert plus["window_start"].tolist() == [pos - 1 - LENGTH // 2 for _, pos in SPOTS]
    assert plus.loc[0, "window_start"] == -51 and plus.loc[0, "n_padded"] == 51
    assert minus[["chrom", "window_start"]].equals(plus[["chrom", "window_start"]])
    fasta = pyfaidx.Fasta(str(genome_path), as_raw=True, sequence_always_upper=True)
    for row in plus.itertuples():
        start = max(row.window_start, 0)
        expected = "N" * (start - row.window_start) + fasta[row.chrom][start:row.window_start + LENGTH]
        assert row.ref_seq == expected.ljust(LENGTH, "N")  # chr2's window runs 90 bp past its end
    fasta.close()
    assert plus.loc[0, "ref_seq"].startswith("N" * 51) and "N" not in plus.loc[0, "ref_seq"][51:]
    # chunks from an older make-windows (no loci) still read
    old = write_tsv(windows.drop(columns=["chrom", "window_start"]), tmp_path / "old" / "fl.windows.0.tsv")
    assert "chrom" not in read_windows(old).columns


def test_flanked_input_is_the_genome_slice_with_the_window_pasted_in(genome_path):
    windows = windows_for(genome_path, reverse_complement=True)
    with Genome(genome_path) as g:
        for k, (chrom, pos) in enumerate(SPOTS):
            plus, minus = windows.iloc[2 * k], windows.iloc[2 * k + 1]
            built = {}
            for col in ("ref_seq", "alt_seq"):
                built[col] = tracks.flanked_input(g, plus[col], plus["chrom"], plus["window_start"], "+", INPUT)
                assert len(built[col]) == INPUT
                assert built[col] == expected_input(genome_path, chrom, pos, plus[col])
                rc = tracks.flanked_input(g, minus[col], minus["chrom"], minus["window_start"], "-", INPUT)
                assert rc == reverse_complement(built[col])
            ref, alt = built["ref_seq"], built["alt_seq"]
            assert [i for i in range(INPUT) if alt[i] != ref[i]] == [INPUT // 2]  # the allele, nothing else
    near_start = expected_input(genome_path, "chr1", 50, windows.iloc[0]["ref_seq"])
    near_end = expected_input(genome_path, "chr2", 2990, windows.iloc[6]["ref_seq"])
    assert near_start.startswith("N" * (INPUT // 2 - 49)) and near_start[INPUT // 2 - 49] != "N"
    assert near_end.endswith("N" * (INPUT // 2 - 11)) and near_end[-(INPUT // 2 - 11) - 1] != "N"


def test_flanked_scores_equal_a_direct_pass_and_differ_from_n_padding(genome_path, enformer_dir):
    adapter = adapter_for(enformer_dir)
    assert adapter.uses_genome_context
    windows = windows_for(genome_path)
    with Genome(genome_path) as g:
        flanked = score_windows(adapter, windows, genome=g)
    padded = score_windows(adapter, windows)
    inputs = [expected_input(genome_path, c, p, w) for (c, p), w in zip(SPOTS, windows["ref_seq"])]
    alts = [expected_input(genome_path, c, p, w) for (c, p), w in zip(SPOTS, windows["alt_seq"])]
    np.testing.assert_allclose(flanked["ref_output"], direct_track_sum(enformer_dir, inputs), rtol=1e-7)
    np.testing.assert_allclose(flanked["alt_output"], direct_track_sum(enformer_dir, alts), rtol=1e-7)
    # the random toy's outputs vary little (~1e-6 relative) with its input: the adapter matches the
    # direct pass exactly (checked to 1e-7), the N-padded outputs are off by more than 1e-6 everywhere
    for col in ("ref_output", "alt_output"):
        assert (np.abs(flanked[col] - padded[col]) > 1e-6 * flanked[col]).all()


def test_same_window_at_two_loci_is_two_inputs_and_chunking_does_not_matter(genome_path, enformer_dir, caplog):
    adapter = adapter_for(enformer_dir)
    windows = windows_for(genome_path)
    twins = windows.iloc[4:6].reset_index(drop=True)
    assert twins.loc[0, "ref_seq"] == twins.loc[1, "ref_seq"] and twins.loc[0, "alt_seq"] == twins.loc[1, "alt_seq"]
    with Genome(genome_path) as g, caplog.at_level(logging.INFO, logger="regvarbench.score"):
        pair = score_windows(adapter, twins, genome=g)
        assert any("4 distinct inputs in genome flanks" in r.getMessage() for r in caplog.records)
        assert pair.loc[0, "ref_output"] != pair.loc[1, "ref_output"]
        padded = score_windows(adapter, twins)
        assert padded.loc[0, "ref_output"] == padded.loc[1, "ref_output"]  # alone, the two are one sequence
        whole = score_windows(adapter, windows, genome=g)
        parts = pd.concat([score_windows(adapter, windows.iloc[a:b], genome=g) for a, b in ((0, 1), (1, 4), (4, 6))],
                          ignore_index=True)  # other batch partners (every batch has the spec's size)
        backwards = score_windows(adapter, windows.iloc[::-1].reset_index(drop=True), genome=g).iloc[::-1]
    pd.testing.assert_frame_equal(whole, parts)
    pd.testing.assert_frame_equal(whole, backwards.reset_index(drop=True))


def test_without_genome_or_loci_track_models_n_pad_with_a_warning(tmp_path, genome_path, enformer_dir, caplog):
    model = tmp_path / "models" / "enf_tiny__HepG2"
    assert cli.main(["train", "--family", "enformer", "--model-name", "enf_tiny", "--source", enformer_dir,
                     "--cell-line", "HepG2", "--tracks", "HepG2:1,2", "--input-length", str(INPUT),
                     "--outdir", str(tmp_path / "models")]) == 0
    windows = windows_for(genome_path)
    path = write_tsv(windows, tmp_path / "w" / "fl.windows.0.tsv")
    old = write_tsv(windows.drop(columns=["chrom", "window_start"]), tmp_path / "old" / "fl.windows.0.tsv")
    padded = score_windows(adapter_for(enformer_dir), windows)
    runs = {"no_genome": ["--windows", str(path)], "no_loci": ["--windows", str(old), "--genome", str(genome_path)]}
    for name, extra in runs.items():
        caplog.clear()
        assert cli.main(["score", "--model", str(model), *extra, "--outdir", str(tmp_path / name)]) == 0
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "N-pad" in warnings[0], warnings
        scores = read_tsv(tmp_path / name / "enf_tiny.fl.0.scores.tsv")
        np.testing.assert_allclose(scores["ref_output"], padded["ref_output"], rtol=1e-9)  # TSV: 10 digits
    # a model that reads the window alone ignores --genome: one info line, no warning
    caplog.clear()
    motif = Path(__file__).parents[1] / "fixtures" / "modules" / "motif_jaspar__HepG2"
    with caplog.at_level(logging.INFO):
        assert cli.main(["score", "--model", str(motif), "--windows", str(path), "--genome", str(genome_path),
                         "--outdir", str(tmp_path / "motif")]) == 0
    about = [r for r in caplog.records if "--genome" in r.getMessage()]
    assert len(about) == 1 and about[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_score_cli_with_genome_and_reverse_complement(tmp_path, genome_path, enformer_dir):
    variants = write_tsv(variants_table(genome_path, SPOTS, dataset="fl"), tmp_path / "fl.variants.tsv")
    assert cli.main(["make-windows", "--variants", str(variants), "--genome", str(genome_path), "--length",
                     str(LENGTH), "--reverse-complement", "--chunk-size", "4", "--outdir", str(tmp_path / "w")]) == 0
    assert cli.main(["train", "--family", "enformer", "--model-name", "enf_tiny", "--source", enformer_dir,
                     "--cell-line", "HepG2", "--tracks", "HepG2:1,2", "--input-length", str(INPUT),
                     "--outdir", str(tmp_path / "models")]) == 0
    chunks = sorted(str(p) for p in (tmp_path / "w").glob("fl.windows.0*.tsv"))
    assert len(chunks) == 2
    assert cli.main(["score", "--model", str(tmp_path / "models" / "enf_tiny__HepG2"), "--windows", *chunks,
                     "--genome", str(genome_path), "--outdir", str(tmp_path / "scores")]) == 0
    scores = pd.concat([read_tsv(tmp_path / "scores" / f"enf_tiny.fl.{k}.scores.tsv") for k in ("00000", "00001")],
                       ignore_index=True)
    assert list(scores.columns) == SCORE_COLUMNS and len(scores) == len(SPOTS)  # strands averaged
    windows = windows_for(genome_path)
    for col, out in (("ref_seq", "ref_output"), ("alt_seq", "alt_output")):
        fwd = [expected_input(genome_path, c, p, w) for (c, p), w in zip(SPOTS, windows[col])]
        forward = direct_track_sum(enformer_dir, fwd)
        both = (forward + direct_track_sum(enformer_dir, [reverse_complement(s) for s in fwd])) / 2
        np.testing.assert_allclose(scores[out], both, rtol=1e-8)  # outputs written with 10 digits
        assert (np.abs(scores[out] - forward) > 2e-8 * forward).all()  # the - rows count (toy: ~1e-7 apart)
    np.testing.assert_allclose(scores["score"], np.log2(scores["alt_output"] / scores["ref_output"]),
                               atol=1e-9)
