"""Indels and MNVs: the window convention on hand-made genomes, contig ends, every model family's path.

Expected windows are written out by hand for the short cases, and built for the others from the
alternative haplotype (the genome with the edit applied), a route independent of alleles.py:
the allele's central base (the junction for an empty allele) at window index length // 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regvarbench import simulate as sim
from regvarbench.alleles import classify, trim_alleles
from regvarbench.genome import Genome
from regvarbench.io import InputError
from regvarbench.models import load_model
from regvarbench.models.tracks import flanked_input
from regvarbench.score import SCORE_COLUMNS, score_windows
from regvarbench.variants.prepare import DatasetSpec, prepare_dataset
from regvarbench.windows import build_windows

# 40 bp, no base repeated in a row beyond 2, so every shift of a flank shows
CHR1 = "GATTACACGTCAGGCTAACTTGCAGTCCATGAAGTCGTAC"
CHR2_LEN = 400


@pytest.fixture
def genome(tmp_path: Path):
    rng = np.random.default_rng(5)
    chr2 = "".join(rng.choice(list("ACGT"), CHR2_LEN))
    path = tmp_path / "g.fa"
    path.write_text(f">chr1\n{CHR1}\n>chr2\n" + "\n".join(chr2[i:i + 70] for i in range(0, CHR2_LEN, 70)) + "\n")
    with Genome(path) as g:
        yield g


def table(rows: list[tuple[str, int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"variant_id": [f"v:{i}" for i in range(len(rows))], "dataset": "v", "cell_line": "HepG2",
                         "chrom": [r[0] for r in rows], "pos": [r[1] for r in rows], "ref": [r[2] for r in rows],
                         "alt": [r[3] for r in rows]})


def by_haplotype(seq: str, pos: int, ref: str, alt: str, length: int) -> tuple[str, str]:
    """(ref window, alt window) cut from each haplotype around its own allele's centre."""
    lead = 0
    while lead < min(len(ref), len(alt)) and ref[lead] == alt[lead]:
        lead += 1
    r, a = ref[lead:], alt[lead:]
    while r and a and r[-1] == a[-1]:
        r, a = r[:-1], a[:-1]
    s = pos - 1 + lead
    hap_ref, hap_alt = seq, seq[:s] + a + seq[s + len(r):]
    out = []
    for hap, allele in ((hap_ref, r), (hap_alt, a)):
        centre = s + len(allele) // 2
        start = centre - length // 2
        assert start >= 0 and start + length <= len(hap), "expected window beyond the contig"
        out.append(hap[start:start + length])
    return out[0], out[1]


def test_classes_and_trimming() -> None:
    assert [classify(r, a) for r, a in [("A", "C"), ("AC", "GT"), ("ACG", "ATG"), ("A", "AT"), ("AT", "A"),
                                          ("ACG", "TT"), ("CA", "CAA")]] == [
        "snv", "mnv", "snv", "insertion", "deletion", "delins", "insertion"]
    assert trim_alleles(10, "ACG", "ATG") == (10, "C", "T")  # an SNV written as a 3-base substitution
    assert trim_alleles(10, "CA", "CAA") == (11, "", "A")  # leading bases first: the anchor, then the repeat base


def test_short_indels_by_hand(genome: Genome) -> None:
    # CHR1: GATTACACGT CAGGCTAACT TGCAGTCCAT GAAGTCGTAC (0-based 0..39); pos 20 (1-based) is T, 21 is T
    rows = [("chr1", 20, "TT", "T"),       # 1-bp deletion of CHR1[20] (anchor CHR1[19])
            ("chr1", 20, "T", "TG"),       # 1-bp insertion of G after CHR1[19]
            ("chr1", 20, "TTG", "AC"),     # delins: TTG -> AC
            ("chr1", 20, "TT", "GA")]      # MNV
    w = build_windows(table(rows), genome, 10)
    assert w["variant_class"].tolist() == ["deletion", "insertion", "delins", "mnv"]
    # deletion: ref = CHR1[15:25] (deleted base T at index 5); alt takes one more base on the right
    assert w.loc[0, "ref_seq"] == "TAACTTGCAG" and w.loc[0, "alt_seq"] == "TAACTGCAGT"
    # insertion: ref = CHR1[15:25] (junction before index 5); the inserted G at index 5, one base fewer on the right
    assert w.loc[1, "ref_seq"] == "TAACTTGCAG" and w.loc[1, "alt_seq"] == "TAACTGTGCA"
    # delins TTG (0-based 19..21) -> AC: ref centred on the middle T (index 5), alt on C (AC's base 1)
    assert w.loc[2, "ref_seq"] == "TAACTTGCAG" and w.loc[2, "alt_seq"] == "TAACACCAGT"
    # MNV TT (19..20) -> GA: both windows on the same span, differing at the two bases
    assert w.loc[3, "ref_seq"] == "TAACTTGCAG" and w.loc[3, "alt_seq"] == "TAACGAGCAG"
    assert w["window_start"].tolist() == [15, 15, 15, 15]
    assert list(zip(w["alt_start"], w["alt_end"])) == [(15, 26), (15, 24), (15, 26), (15, 25)]
    for (_, pos, ref, alt), (_, got) in zip(rows, w.iterrows()):
        assert (got["ref_seq"], got["alt_seq"]) == by_haplotype(CHR1, pos, ref, alt, 10)
    assert (w["ref_seq"].str.len() == 10).all() and (w["alt_seq"].str.len() == 10).all()
    odd = build_windows(table(rows[:2]), genome, 11)  # odd length: 5 bases left of the centre, 5 right
    assert odd.loc[0, "ref_seq"] == "TAACTTGCAGT" and odd.loc[0, "alt_seq"] == "TAACTGCAGTC"
    assert odd.loc[1, "ref_seq"] == "TAACTTGCAGT" and odd.loc[1, "alt_seq"] == "TAACTGTGCAG"


@pytest.mark.parametrize("length", [50, 51, 1, 2])
@pytest.mark.parametrize("size", [1, 20])
@pytest.mark.parametrize("kind", ["insertion", "deletion"])
def test_windows_match_the_haplotypes(genome: Genome, length: int, size: int, kind: str) -> None:
    if size > length:
        pytest.skip("allele longer than the window")
    seq = genome.fetch("chr2", 0, CHR2_LEN)
    inserted = "".join("ACGT"[(i * 3 + 1) % 4] for i in range(size))
    rows = []
    for pos in (100, 101, 230):
        anchor = seq[pos - 1]
        rows.append(("chr2", pos, anchor, anchor + inserted) if kind == "insertion"
                    else ("chr2", pos, seq[pos - 1:pos + size], anchor))
    w = build_windows(table(rows), genome, length, reverse_complement=True)
    plus = w[w["strand"] == "+"].reset_index(drop=True)
    for (_, pos, ref, alt), (_, got) in zip(rows, plus.iterrows()):
        ref_win, alt_win = by_haplotype(seq, pos, ref, alt, length)
        assert (got["ref_seq"], got["alt_seq"]) == (ref_win, alt_win)
        assert got["variant_class"] == kind and got["n_padded"] == 0
        # the alt window's bases are the genome over [alt_start, alt_end) with the edit applied
        span = seq[got["alt_start"]:got["alt_end"]]
        assert len(span) == length + (size if kind == "deletion" else -size)
    # both ends: a deletion's alt window reaches size // 2 further left, size - size // 2 further right
    d = (plus["window_start"] - plus["alt_start"]).tolist()
    assert d == [size // 2 if kind == "deletion" else -(size // 2)] * 3


@pytest.mark.parametrize("size", [1, 20])
@pytest.mark.parametrize("kind", ["insertion", "deletion"])
def test_contig_ends(genome: Genome, tmp_path: Path, size: int, kind: str) -> None:
    """The first and last positions whose windows fit are windowed exactly; one base further is skipped."""
    length = 30
    seq = genome.fetch("chr2", 0, CHR2_LEN)
    inserted = "T" * size

    def row(pos):
        anchor = seq[pos - 1]
        return ("chr2", pos, anchor, anchor + inserted) if kind == "insertion" else (
            "chr2", pos, seq[pos - 1:pos + size], anchor)

    # the edit starts at 0-based s = pos (after the anchor); the window of the empty allele (ref of an
    # insertion, alt of a deletion) leaves length // 2 bases before its junction, so s >= length // 2
    first = length // 2
    # the last base used: s + (length - length // 2) for an insertion's ref window, plus the deleted
    # bases for a deletion's alt window
    last = CHR2_LEN - (length - length // 2) - (size if kind == "deletion" else 0)
    rows = [row(first), row(first - 1), row(last), row(last + 1)]
    w = build_windows(table([rows[0], rows[2]]), genome, length)
    for (_, pos, ref, alt), (_, got) in zip([rows[0], rows[2]], w.iterrows()):
        assert (got["ref_seq"], got["alt_seq"]) == by_haplotype(seq, pos, ref, alt, length)
    assert min(w["window_start"].min(), w["alt_start"].min()) == 0
    assert max((w["window_start"] + length).max(), w["alt_end"].max()) == CHR2_LEN
    for bad in (rows[1], rows[3]):
        with pytest.raises(InputError, match="reach beyond"):
            build_windows(table([bad]), genome, length)
    src = tmp_path / "v.tsv"
    pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt"]).assign(effect_log2=0.1, pvalue=0.5).to_csv(
        src, sep="\t", index=False)
    result = prepare_dataset(DatasetSpec("v", "HepG2", "standard", src, "test"), genome, window_length=length)
    assert result.variants["row"].tolist() == [0, 2]
    assert result.skipped["reason"].tolist() == ["window_beyond_contig"] * 2


def test_snv_and_mnv_at_contig_ends_are_n_padded(genome: Genome) -> None:
    w = build_windows(table([("chr1", 1, "GA", "CT"), ("chr1", 40, "C", "A")]), genome, 10)
    # MNV GA -> CT at 1-based 1-2: its base 1 (A) at index 5; SNV at the last base, index 5
    assert w["ref_seq"].tolist() == ["NNNNGATTAC", "TCGTACNNNN"] and w["alt_seq"].tolist() == ["NNNNCTTTAC", "TCGTAANNNN"]
    assert w["n_padded"].tolist() == [4, 4]


def test_allele_longer_than_window_and_wrong_ref(genome: Genome) -> None:
    with pytest.raises(InputError, match="cannot be windowed"):
        build_windows(table([("chr2", 200, "A" * 1, "A" + "C" * 12)]), genome, 10)
    with pytest.raises(InputError, match="table says ref"):
        build_windows(table([("chr1", 20, "TA", "T")]), genome, 10)  # genome has TT


def test_genome_flanks_continue_after_an_indel(genome: Genome) -> None:
    """Track and TREDNet inputs: the alt window in its genome flanks is the alt haplotype, both strands."""
    seq = genome.fetch("chr2", 0, CHR2_LEN)
    rows = [("chr2", 200, seq[199:206], seq[199]), ("chr2", 200, seq[199], seq[199] + "GATTACA")]
    w = build_windows(table(rows), genome, 20, reverse_complement=True)
    for i, (_, pos, ref, alt) in enumerate(rows):
        plus, minus = w.iloc[2 * i], w.iloc[2 * i + 1]
        hap_ref, hap_alt = by_haplotype(seq, pos, ref, alt, 120)  # a 120-bp model input around each allele
        got = flanked_input(genome, plus["alt_seq"], "chr2", plus["alt_start"], "+", 120, plus["alt_end"])
        assert got == hap_alt
        assert flanked_input(genome, plus["ref_seq"], "chr2", plus["window_start"], "+", 120) == hap_ref
        rc = flanked_input(genome, minus["alt_seq"], "chr2", minus["alt_start"], "-", 120, minus["alt_end"])
        assert rc == hap_alt[::-1].translate(str.maketrans("ACGT", "TGCA"))


def indel_windows(genome: Genome, length: int) -> pd.DataFrame:
    seq = genome.fetch("chr2", 0, CHR2_LEN)
    rows = []
    for pos in range(60, 340, 7):
        a = seq[pos - 1]
        rows += [("chr2", pos, a, a + "G"), ("chr2", pos, seq[pos - 1:pos + 3], a),
                 ("chr2", pos, seq[pos - 1:pos + 1], "".join("ACGT"[("ACGT".index(b) + 1) % 4]
                                                             for b in seq[pos - 1:pos + 1])),
                 ("chr2", pos, a, "ACGT"[("ACGT".index(a) + 2) % 4])]
    return build_windows(table(rows), genome, length)


def test_cone_reuse_is_exact_on_indel_rows(genome: Genome) -> None:
    """cnn_small: cone reuse scores the alt window itself; indel and MNV windows (several bases differ)
    get full passes; both routes agree with the plain full pass."""
    adapter = load_model({"architecture": "cnn_small", "input_length": 101, "seed": 3})
    w = indel_windows(genome, 101)
    cone = score_windows(adapter, w, batch_size=16, cone=True)
    counts = adapter.last_variant_counts
    full = score_windows(adapter, w, batch_size=16, cone=False)
    assert list(cone.columns) == SCORE_COLUMNS
    assert cone["variant_class"].tolist() == w["variant_class"].tolist()
    assert set(cone["variant_class"]) == {"insertion", "deletion", "mnv", "snv"}
    n_snv = int((w["variant_class"] == "snv").sum())
    assert counts["full"] >= len(w) - n_snv - 2 and counts["cone"] >= n_snv  # a homopolymer indel may differ at 1
    np.testing.assert_allclose(cone["alt_output"], full["alt_output"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(cone["ref_output"], full["ref_output"], rtol=0, atol=1e-6)


def test_motif_scores_indel_windows(genome: Genome) -> None:
    spec = {"family": "motif", "background": sim.BASE_PROBS.tolist(), "pseudocount": 0,
            "motifs": [{"name": k, "counts": v.tolist()} for k, v in sim.MOTIFS["HepG2"].items()]}
    w = indel_windows(genome, 60)
    scores = score_windows(load_model(spec), w)
    assert np.isfinite(scores["score"]).all() and len(scores) == len(w)
    assert scores.groupby("variant_class")["score"].apply(lambda s: (s != 0).any()).all()  # every class moves a score
