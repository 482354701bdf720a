"""split: chromosome hold-out and label-stratified random splits, without leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regvarbench import cli
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.split import normalise_chrom, split_regions, summarise_split


def sequences_frame(n_per_chrom: int = 20, chroms=("chr1", "chr2", "chr3", "chr4", "chrX")) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for chrom in chroms:
        for i in range(n_per_chrom):
            start = 5000 * i
            rows.append((f"HepG2:{chrom}:{start}-{start + 100}", chrom, start, start + 100, i % 2, "HepG2",
                         "".join(rng.choice(list("ACGT"), size=100).tolist())))
    return pd.DataFrame(rows, columns=["region_id", "chrom", "start", "end", "label", "cell_line", "sequence"])


def assert_no_leakage(out: pd.DataFrame, frame: pd.DataFrame) -> None:
    assert len(out) == len(frame) and out["region_id"].tolist() == frame["region_id"].tolist()
    groups = [set(out.loc[out["split"] == s, "region_id"]) for s in ("train", "valid", "test")]
    assert all(groups) and sum(map(len, groups)) == len(frame)
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])


def test_chromosome_hold_out_by_default():
    frame = sequences_frame()
    out = split_regions(frame)
    assert_no_leakage(out, frame)
    by_split = out.groupby("split")["chrom"].agg(lambda c: set(c))
    assert by_split["valid"] == {"chr2"} and by_split["test"] == {"chr3"}
    assert by_split["train"] == {"chr1", "chr4", "chrX"}
    assert list(out.columns) == list(frame.columns) + ["split"]


def test_chromosome_names_are_harmonised():
    frame = sequences_frame(chroms=("1", "2", "3", "X"))
    out = split_regions(frame, valid_chroms=["chr2"], test_chroms=["chrX", "3"])
    assert set(out.loc[out["split"] == "test", "chrom"]) == {"3", "X"}
    assert normalise_chrom("chrMT") == normalise_chrom("M") == "M"


def test_absent_chromosome_is_named():
    with pytest.raises(InputError, match="--test-chroms: chromosome\\(s\\) chr19 not found"):
        split_regions(sequences_frame(), test_chroms=["chr19"])


def test_empty_split_and_double_assignment_are_errors():
    with pytest.raises(InputError, match="split\\(s\\) train would be empty"):
        split_regions(sequences_frame(chroms=("chr2", "chr3")))
    with pytest.raises(InputError, match="both --valid-chroms and --test-chroms"):
        split_regions(sequences_frame(), valid_chroms=["chr2"], test_chroms=["2"])


def test_duplicate_region_ids_are_rejected():
    frame = sequences_frame()
    frame.loc[1, "region_id"] = frame.loc[0, "region_id"]
    with pytest.raises(InputError, match="occurs more than once"):
        split_regions(frame)


def test_random_split_is_stratified_seeded_and_leak_free():
    frame = sequences_frame(n_per_chrom=40)  # 200 rows, 100 per label
    out = split_regions(frame, method="random", valid_fraction=0.1, test_fraction=0.2, seed=4)
    assert_no_leakage(out, frame)
    counts = out.groupby(["split", "label"]).size()
    for label in (0, 1):
        assert (counts[("test", label)], counts[("valid", label)], counts[("train", label)]) == (20, 10, 70)
    again = split_regions(frame, method="random", valid_fraction=0.1, test_fraction=0.2, seed=4)
    other = split_regions(frame, method="random", valid_fraction=0.1, test_fraction=0.2, seed=5)
    assert again["split"].tolist() == out["split"].tolist()
    assert other["split"].tolist() != out["split"].tolist()


def test_random_fractions_are_checked():
    with pytest.raises(InputError, match="--test-fraction"):
        split_regions(sequences_frame(), method="random", test_fraction=0)
    with pytest.raises(InputError, match="must be < 1"):
        split_regions(sequences_frame(), method="random", valid_fraction=0.5, test_fraction=0.5)


def test_summary_lists_every_split_and_label():
    out = split_regions(sequences_frame())
    summary = summarise_split(out, "HepG2")
    assert list(summary.columns) == ["cell_line", "split", "label", "count"]
    assert summary[["split", "label"]].apply(tuple, axis=1).tolist() == [
        ("train", 0), ("train", 1), ("valid", 0), ("valid", 1), ("test", 0), ("test", 1)]
    assert summary["count"].tolist() == [30, 30, 10, 10, 10, 10]


def test_cli_comma_separated_chroms_and_identical_reruns(tmp_path):
    path = write_tsv(sequences_frame(), tmp_path / "HepG2.sequences.tsv")
    for run in ("a", "b"):
        assert cli.main(["split", "--sequences", str(path), "--valid-chroms", "chr2,chr4",
                         "--test-chroms", "chr3", "X", "--outdir", str(tmp_path / run)]) == 0
    for name in ("HepG2.split.tsv", "HepG2.split_summary.tsv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    out = read_tsv(tmp_path / "a" / "HepG2.split.tsv")
    assert out.groupby("split")["chrom"].agg(lambda c: sorted(set(c))).to_dict() == {
        "test": ["chr3", "chrX"], "train": ["chr1"], "valid": ["chr2", "chr4"]}
    summary = read_tsv(tmp_path / "a" / "HepG2.split_summary.tsv")
    assert summary["count"].sum() == len(out)


def test_cli_absent_chromosome_exits_2(tmp_path, capsys):
    path = write_tsv(sequences_frame(), tmp_path / "HepG2.sequences.tsv")
    assert cli.main(["split", "--sequences", str(path), "--valid-chroms", "chr22",
                     "--outdir", str(tmp_path / "o")]) == 2
    assert "chr22" in capsys.readouterr().err


def test_cli_prefix_names_the_files(tmp_path):
    """--prefix (the pipeline's task.ext.prefix) names the outputs; their content is unchanged."""
    path = write_tsv(sequences_frame(), tmp_path / "HepG2.sequences.tsv")
    assert cli.main(["split", "--sequences", str(path), "--outdir", str(tmp_path / "a")]) == 0
    assert cli.main(["split", "--sequences", str(path), "--prefix", "mine", "--outdir", str(tmp_path / "b")]) == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["mine.split.tsv", "mine.split_summary.tsv"]
    assert (tmp_path / "a" / "HepG2.split.tsv").read_bytes() == (tmp_path / "b" / "mine.split.tsv").read_bytes()
