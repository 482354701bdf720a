"""rebuild-elements: element reference sequences from saturation-mutagenesis variant tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regvarbench.cli import main
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv, write_tsv

COLUMNS = ["element_id", "dataset", "chrom", "start", "end", "n_positions", "n_gaps", "n_conflicts",
           "n_mismatches", "flank"]


def read_fasta(path: Path) -> dict[str, str]:
    records: dict[str, str] = {}
    name = None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            records[name] = ""
        else:
            records[name] += line.strip()
    return records


def variants_table(path: Path, dataset: str, chrom: str, refs: dict[int, list[str]]) -> Path:
    """A minimal variants table: for each position, one row per listed reference base (three alts)."""
    rows = []
    for pos, bases in refs.items():
        for ref in bases:
            for alt in "ACGT".replace(ref, "")[:3]:
                rows.append({"variant_id": f"{dataset}:{len(rows)}", "dataset": dataset, "cell_line": "X",
                             "chrom": chrom, "pos": pos, "ref": ref, "alt": alt})
    return write_tsv(pd.DataFrame(rows), path)


@pytest.fixture
def genome_path(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    seq = "".join(rng.choice(list("ACGT"), 300))
    path = tmp_path / "genome.fa"
    path.write_text(">chr1\n" + "\n".join(seq[i:i + 60] for i in range(0, 300, 60)) + "\n")
    return path


def rebuild(tmp_path: Path, tables: list[Path], *extra: str, name: str = "out") -> tuple[pd.DataFrame, dict]:
    out = tmp_path / name
    assert main(["rebuild-elements", "--variants", *map(str, tables), *extra, "--outdir", str(out)]) == 0
    return read_tsv(out / "elements.tsv", dtype={"chrom": str}), read_fasta(out / "elements.fa")


def test_gaps_conflicts_flanks_and_mismatches(tmp_path: Path, genome_path: Path) -> None:
    with Genome(genome_path) as g:
        seq = g.fetch("chr1", 0, 300)
    refs = {p: [seq[p - 1]] for p in range(101, 121) if p not in (105, 106)}  # 20 bp, 2 missing
    refs[110] = [seq[109], "ACGT"[("ACGT".index(seq[109]) + 1) % 4]]           # listed with two bases
    wrong = "ACGT"[("ACGT".index(seq[114]) + 1) % 4]
    refs[115] = [wrong]                                                        # disagrees with the genome
    refs.update({p: [seq[p - 1]] for p in (201, 202, 203)})                    # second element, far away
    table = variants_table(tmp_path / "ds.variants.tsv", "ds", "1", refs)     # contig written without chr

    elements, fasta = rebuild(tmp_path, [table], "--genome", str(genome_path), "--flank", "5", "--max-gap", "10")
    assert elements.columns.tolist() == COLUMNS
    assert elements["element_id"].tolist() == ["ds:1:101-120", "ds:1:201-203"]
    first = elements.iloc[0]
    assert (first["start"], first["end"], first["n_positions"], first["n_gaps"]) == (100, 120, 18, 2)
    assert (first["n_conflicts"], first["n_mismatches"], first["flank"]) == (1, 1, 5)
    core = list(seq[100:120])
    core[4] = core[5] = core[9] = "N"  # gaps at 105/106, conflict at 110
    core[14] = wrong
    assert fasta["ds:1:101-120"] == seq[95:100] + "".join(core) + seq[120:125]
    assert fasta["ds:1:201-203"] == seq[195:208]
    assert elements.iloc[1]["n_mismatches"] == 0

    # without a genome: flanks are N, mismatches unknown (empty); a small --max-gap splits at the gap
    elements, fasta = rebuild(tmp_path, [table], "--flank", "2", "--max-gap", "1", name="nogenome")
    assert elements["element_id"].tolist() == ["ds:1:101-104", "ds:1:107-120", "ds:1:201-203"]
    assert elements["n_mismatches"].isna().all()
    assert fasta["ds:1:101-104"] == "NN" + seq[100:104] + "NN"


def test_deterministic_and_bad_input(tmp_path: Path) -> None:
    table = variants_table(tmp_path / "a.variants.tsv", "a", "chr2", {5: ["A"], 6: ["c"], 8: ["G"]})
    outs = [tmp_path / "o1", tmp_path / "o2"]
    for out in outs:
        assert main(["rebuild-elements", "--variants", str(table), "--outdir", str(out)]) == 0
    for name in ("elements.tsv", "elements.fa"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    assert read_fasta(outs[0] / "elements.fa") == {"a:chr2:5-8": "ACNG"}
    bad = tmp_path / "bad.tsv"
    bad.write_text("dataset\tchrom\tpos\n")
    from regvarbench.elements import read_reference_bases
    with pytest.raises(InputError, match="'ref'"):
        read_reference_bases([str(bad)])
    assert main(["rebuild-elements", "--variants", str(table), "--flank", "-1", "--outdir", str(tmp_path / "x")]) == 2


SATMUT = [("SORT1", "kircher2019_satmut", "SORT1.csv", 600),
          ("Hela_PPARG", "birnbaum2014_eexon", "Hela_PPARG.csv", 538),
          ("Hela_SORL1", "birnbaum2014_eexon", "Hela_SORL1.csv", 555),
          ("Hela_TRAF3IP2", "birnbaum2014_eexon", "Hela_TRAF3IP2.csv", 654)]


def test_real_saturation_mutagenesis_elements(tmp_path: Path, published: Path) -> None:
    tables = []
    for dataset, fmt, name, _ in SATMUT:
        source = published / "experimental" / name
        if not source.exists():
            pytest.skip(f"real data not available: {source}")
        assert main(["prepare-variants", "--dataset", dataset, "--cell-line", "X", "--format", fmt,
                     "--input", str(source), "--outdir", str(tmp_path / "prepared")]) == 0
        tables.append(tmp_path / "prepared" / f"{dataset}.variants.tsv")
    elements, fasta = rebuild(tmp_path, tables)
    assert elements["dataset"].tolist() == sorted(d for d, *_ in SATMUT)
    by_dataset = elements.set_index("dataset")
    for dataset, _, _, n_positions in SATMUT:
        e = by_dataset.loc[dataset]
        assert (e["n_positions"], e["n_gaps"], e["n_conflicts"]) == (n_positions, 0, 0)
        assert e["end"] - e["start"] == n_positions
        seq = fasta[e["element_id"]]
        assert len(seq) == n_positions and "N" not in seq
        variants = read_tsv(tmp_path / "prepared" / f"{dataset}.variants.tsv", dtype={"chrom": str})
        listed = [seq[p - e["start"] - 1] for p in variants["pos"]]
        assert listed == variants["ref"].tolist()  # every listed reference base sits at its position
    # SORT1 (hg38): rs12740374 G at chr1:109274968
    sort1 = by_dataset.loc["SORT1"]
    assert fasta[sort1["element_id"]][109274968 - sort1["start"] - 1] == "G"
