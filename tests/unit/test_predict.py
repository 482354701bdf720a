"""predict: a user's VCF prepared, scored by trained models and ranked in one command, with the
same tables as the pipeline's steps run one by one (prepare-variants, make-windows, score, rank)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pysam
import pytest

from regvarbench.cli import main
from regvarbench.genome import Genome
from regvarbench.predict import dataset_name

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modules"
GENOME = FIXTURES / "genome.fa"
LENGTH = 100  # the fixture genome's contigs are 2.4 kb; the split fixture's sequences 100 bp


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> list[Path]:
    """cnn_small trained for one epoch on the split fixture, and the motif baseline (nothing to fit)."""
    out = tmp_path_factory.mktemp("predict_models")
    assert main(["train", "--data", str(FIXTURES / "HepG2.split.tsv"), "--model-name", "cnn_small", "--epochs", "1",
                 "--threads", "1", "--outdir", str(out)]) == 0
    assert main(["train", "--family", "motif", "--cell-line", "HepG2", "--outdir", str(out)]) == 0
    return [out / "cnn_small__HepG2", out / "motif_jaspar__HepG2"]


def write_vcf(path: Path) -> Path:
    """SNVs, an insertion, a deletion, an MNV, one wrong REF and one symbolic ALT, alleles from the genome."""
    with Genome(GENOME) as g:
        b = {pos: g.base("chr1", pos) for pos in range(400, 1300)}
    other = {base: "ACGT"[("ACGT".index(base) + 1) % 4] for base in "ACGT"}
    records = [("chr1", 500, "rs1", b[500], other[b[500]]),
               ("chr1", 520, "rs2", b[520], other[other[b[520]]]),
               ("chr1", 700, "ins1", b[700], b[700] + "GATTACA"),
               ("chr1", 900, "del1", b[900] + b[901] + b[902] + b[903], b[900]),
               ("chr1", 1100, "mnv1", b[1100] + b[1101], other[b[1100]] + other[b[1101]]),
               ("chr1", 1200, "badref", other[b[1200]], other[other[b[1200]]]),
               ("chr1", 1250, "sym1", b[1250], "<DEL>")]
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=2400>",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t." for c, p, i, r, a in records]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def predicted(models, tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    vcf = write_vcf(root / "my_locus.vcf")
    out = root / "out"
    assert main(["predict", "--model", *map(str, models), "--variants", str(vcf), "--genome", str(GENOME),
                 "--window-length", str(LENGTH), "--max-mismatch-rate", "0.5", "--outdir", str(out)]) == 0
    return root, vcf, out


def test_every_row_scored_or_skipped_and_ranked(predicted):
    _, _, out = predicted
    variants = pd.read_csv(out / "my_locus.variants.tsv", sep="\t")
    skipped = pd.read_csv(out / "my_locus.skipped.tsv", sep="\t")
    assert len(variants) + len(skipped) == 7 and len(variants) == 5
    for model in ("cnn_small", "motif_jaspar"):
        scores = pd.read_csv(out / f"{model}.my_locus.predict.scores.tsv", sep="\t")
        assert sorted(scores["variant_class"]) == ["deletion", "insertion", "mnv", "snv", "snv"]
        assert scores["score"].notna().all()
    ranked = pd.read_csv(out / "my_locus.ranked.tsv", sep="\t")
    assert sorted(ranked["model"].unique()) == ["cnn_small", "motif_jaspar"] and ranked["variant_id"].nunique() == 5
    with pysam.VariantFile(str(out / "my_locus.scores.vcf.gz")) as vcf:
        records = list(vcf)
        assert len(records) == 5 and all({"RVB_cnn_small", "RVB_motif_jaspar"} <= set(r.info) for r in records)
    assert (out / "my_locus.scores.vcf.gz.tbi").is_file()


def test_equals_the_pipeline_steps_one_by_one(predicted, models):
    """The same tables as PREPARE_VARIANTS, MAKE_WINDOWS, SCORE and RANK run as the pipeline runs them."""
    root, vcf, out = predicted
    steps = root / "steps"
    assert main(["prepare-variants", "--dataset", "my_locus", "--cell-line", "HepG2", "--format", "vcf",
                 "--input", str(vcf), "--genome", str(GENOME), "--window-length", str(LENGTH),
                 "--max-mismatch-rate", "0.5", "--outdir", str(steps)]) == 0
    assert main(["make-windows", "--variants", str(steps / "my_locus.variants.tsv"), "--genome", str(GENOME),
                 "--length", str(LENGTH), "--chunk-size", "2", "--outdir", str(steps)]) == 0
    windows = sorted(map(str, steps.glob("my_locus.windows.*.tsv")))
    assert len(windows) == 3
    for model in models:
        assert main(["score", "--model", str(model), "--windows", *windows, "--outdir", str(steps)]) == 0
    assert main(["rank", "--variants", str(steps / "my_locus.variants.tsv"),
                 "--scores", *map(str, sorted(steps.glob("*.scores.tsv"))), "--outdir", str(steps)]) == 0
    for name in ("my_locus.variants.tsv", "my_locus.skipped.tsv", "my_locus.summary.tsv", "my_locus.ranked.tsv",
                 "my_locus.top_candidates.tsv"):
        assert (out / name).read_bytes() == (steps / name).read_bytes(), name
    for model in ("cnn_small", "motif_jaspar"):
        chunks = pd.concat([pd.read_csv(p, sep="\t") for p in sorted(steps.glob(f"{model}.my_locus.0*.scores.tsv"))],
                           ignore_index=True)
        pd.testing.assert_frame_equal(pd.read_csv(out / f"{model}.my_locus.predict.scores.tsv", sep="\t"), chunks)
    with gzip.open(out / "my_locus.scores.vcf.gz", "rt") as a, gzip.open(steps / "my_locus.scores.vcf.gz", "rt") as b:
        assert a.read() == b.read()


def test_bad_input_is_one_message(models, tmp_path, capsys):
    empty = tmp_path / "empty.vcf"
    empty.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    assert main(["predict", "--model", str(models[1]), "--variants", str(empty), "--genome", str(GENOME),
                 "--outdir", str(tmp_path / "o")]) == 2
    assert "no variant was kept" in capsys.readouterr().err
    assert main(["predict", "--model", str(models[1]), str(models[1]), "--variants", str(empty),
                 "--genome", str(GENOME), "--outdir", str(tmp_path / "o")]) == 2
    assert "same model name" in capsys.readouterr().err
    assert main(["predict", "--model", str(tmp_path / "nope"), "--variants", str(empty), "--genome", str(GENOME),
                 "--outdir", str(tmp_path / "o")]) == 2
    assert "nope" in capsys.readouterr().err


def test_dataset_name():
    assert dataset_name(Path("my locus.vcf.gz")) == "my_locus"
    assert dataset_name(Path("x.tsv")) == "x"
