"""extract-sequences against a small soft-masked genome with an N run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regvarbench import cli
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.sequences import extract_sequences


@pytest.fixture()
def genome_seqs(tmp_path) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(3)
    seqs = {name: "".join(rng.choice(list("ACGT"), size=3000).tolist()) for name in ("chr1", "chr2")}
    seqs["chr2"] = seqs["chr2"][:1000] + "N" * 50 + seqs["chr2"][1050:]
    path = tmp_path / "genome.fa"
    with open(path, "w") as fh:
        for name, seq in seqs.items():
            masked = seq[:500].lower() + seq[500:]  # soft-masked bases must come out upper case
            fh.write(f">{name}\n" + "".join(masked[i:i + 70] + "\n" for i in range(0, len(masked), 70)))
    return path, seqs


def regions_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end", "label"])
    frame.insert(0, "region_id", [f"K562:{c}:{s}-{e}" for c, s, e, _ in rows])
    frame["cell_line"] = "K562"
    return frame


ROWS = [("chr1", 100, 300, 1), ("chr1", 2900, 3100, 1),  # runs off chr1's end -> N padded -> dropped
        ("2", 900, 1100, 0),  # overlaps the N run (bare contig name resolves to chr2)
        ("chr2", 1200, 1400, 0)]


def test_sequences_match_genome_and_n_regions_are_dropped(genome_seqs):
    path, seqs = genome_seqs
    with Genome(path) as genome:
        out, summary = extract_sequences(regions_frame(ROWS), genome)
    assert list(out.columns) == ["region_id", "chrom", "start", "end", "label", "cell_line", "sequence"]
    assert out["region_id"].tolist() == ["K562:chr1:100-300", "K562:chr2:1200-1400"]
    assert out["sequence"].tolist() == [seqs["chr1"][100:300], seqs["chr2"][1200:1400]]
    assert out["sequence"].str.fullmatch("[ACGT]+").all()
    assert summary.to_dict("list") == {"cell_line": ["K562"] * 3,
                                       "step": ["regions_in", "dropped_with_n", "regions_out"],
                                       "count": [4, 2, 2]}


def test_input_frame_is_not_modified(genome_seqs):
    path, _ = genome_seqs
    frame = regions_frame(ROWS)
    before = frame.copy()
    with Genome(path) as genome:
        extract_sequences(frame, genome)
    pd.testing.assert_frame_equal(frame, before)


def test_missing_contig_and_mixed_cell_lines_are_input_errors(genome_seqs):
    path, _ = genome_seqs
    with Genome(path) as genome:
        with pytest.raises(InputError, match="chr7"):
            extract_sequences(regions_frame(ROWS + [("chr7", 0, 10, 0)]), genome)
        mixed = regions_frame(ROWS).assign(cell_line=["K562", "HepG2", "K562", "K562"])
        with pytest.raises(InputError, match="exactly one cell_line"):
            extract_sequences(mixed, genome)
        with pytest.raises(InputError, match="'label'"):
            extract_sequences(regions_frame(ROWS).drop(columns="label"), genome)


def test_cli_writes_named_tables_identically(genome_seqs, tmp_path):
    path, _ = genome_seqs
    regions = write_tsv(regions_frame(ROWS), tmp_path / "K562.regions.tsv")
    for run in ("a", "b"):
        assert cli.main(["extract-sequences", "--regions", str(regions), "--genome", str(path),
                         "--outdir", str(tmp_path / run)]) == 0
    for name in ("K562.sequences.tsv", "K562.sequences_summary.tsv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    table = read_tsv(tmp_path / "a" / "K562.sequences.tsv")
    assert len(table) == 2 and (table["sequence"].str.len() == 200).all()


def test_cli_bad_regions_table_exits_2(genome_seqs, tmp_path, capsys):
    path, _ = genome_seqs
    bad = tmp_path / "bad.tsv"
    bad.write_text("region_id\tchrom\tstart\n")
    assert cli.main(["extract-sequences", "--regions", str(bad), "--genome", str(path),
                     "--outdir", str(tmp_path / "o")]) == 2
    assert "missing column" in capsys.readouterr().err
