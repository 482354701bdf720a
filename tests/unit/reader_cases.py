"""Every input reader, a small real-looking file for each, and the property every reader keeps.

The property (issue 21): a reader either raises ``InputError`` whose message names the file, or
returns a result whose accounting holds (rows in = kept + skipped, every skip with a reason).
Any other exception, or a read that does not finish within ``CASE_SECONDS``, breaks it.
Shared by the defect tests (test_io.py) and the fuzz harness (test_fuzz_readers.py).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regvarbench import evaluate, predictions
from regvarbench.genome import Genome
from regvarbench.io import InputError, open_text, read_tsv, write_tsv
from regvarbench.regions import read_bed
from regvarbench.variants import FORMATS, get_parser
from regvarbench.variants.ld_exports import ALLELES_COLUMN
from regvarbench.variants.prepare import DatasetSpec, prepare_dataset, read_samplesheet

CASE_SECONDS = 10.0  # generous (shared CPUs): a hang guard, not a speed test
# a tiny genome: the variant files below name bases of it, so prepare keeps some rows
CONTIGS = {"chr1": "ACGTTGCAAGCTTACGGATCCGATTACAGGCATTCAGTTCAAGGTCACGTAGCTAGGCTTAACGTTAGCCTAGGATCAG",
           "chr3": "TTGACCGATAGGCTAACGTTACGGATTCCAGATCGATGCAATCGGTACCGTA"}


def base(chrom: str, pos: int) -> str:
    """The genome base at a 1-based position."""
    return CONTIGS[chrom][pos - 1]


def alt(chrom: str, pos: int) -> str:
    return "ACGT"[("ACGT".index(base(chrom, pos)) + 1) % 4]


def _oligo(centre: str, salt: int) -> str:
    rng = np.random.default_rng(salt)
    seq = list(rng.choice(list("ACGT"), 200))
    seq[99] = centre
    return "".join(seq)


def _weiss_row(pos: int, effect: str, p: str) -> str:
    archaic = _oligo(base("chr1", pos), pos)
    modern = archaic[:99] + alt("chr1", pos) + archaic[100:]
    return f"chr1\t{pos}\t{archaic}\t{modern}\t{effect}\t{p}"


SURE_HEADER = ("chr\tSNP_ID\tSNPabspos\tref.element.count\talt.element.count\thepg2.ref.mean\thepg2.alt.mean\t"
               "hepg2.wilcox.p.value\thepg2.wilcox.p.value.random\tref\talt")
ULIRSCH_HEADER = ("dbSNP,chr,pos,ref,alt,type,bot,top,clean,controls,CTRL.median,CTRL.p,CTRL.padj,CTRL.mut.p,"
                  "CTRL.mut.padj,CTRL.fc(log2)")

# format -> (file name, content): the layouts the parsers document, a handful of rows each
VARIANT_SAMPLES: dict[str, tuple[str, str]] = {
    "standard": ("standard.tsv", "chrom\tpos\tref\talt\teffect_log2\tpvalue\n"
                 f"chr1\t5\t{base('chr1', 5)}\t{alt('chr1', 5)}\t0.53\t0.01\n"
                 f"chr1\t12\t{base('chr1', 12)}\t{alt('chr1', 12)}\t-1.25\t1e-5\n"
                 f"1\t30\t{base('chr1', 30)}\tAT\tNA\t0.5\n"
                 f"chr3\t8\t{base('chr3', 8)}\t{alt('chr3', 8)}\t2.0\t\n"),
    "sure_raqtl": ("hepg2.sign.id.LP190708.txt", SURE_HEADER + "\n"
                   f"chr1\trs101\t7\t224\t177\t1.5\t6.0\t1e-10\t0.7\t{base('chr1', 7)}\t{alt('chr1', 7)}\n"
                   f"chr1\trs102\t21\t208\t208\t8.0\t2.0\t0.01\t0.6\t{base('chr1', 21).lower()}\tg\n"
                   f"chr3\trs103\t15\t346\t42\t15.4\t0\t1e-12\t0.7\t{base('chr3', 15)}\t{alt('chr3', 15)}\n"),
    "kircher2019_satmut": ("SORT1.csv", "Chromosome,Position,Ref,Alt,Tags,DNA,RNA,VariantExpressionEffect (log2),"
                           "P-value,Element\n"
                           f"1,9,{base('chr1', 9)},{alt('chr1', 9)},12,100,120,0.26,0.00012,SORT1\n"
                           f"1,9,{base('chr1', 9)},T,10,90,60,-0.58,0,SORT1\n"
                           f"1,10,{base('chr1', 10)},{alt('chr1', 10)},3,40,41,0.04,0.81,SORT1\n"),
    "vockley2015_mpra": ("GSE68331_SNP.csv", "\ufeffid,chr3,Pos,Allele0,dna0,rna0,Allele1,dna1,rna1,P,effect,"
                         "MAF (Capture),MAF (POP-STARR),,,,\r\n"
                         f"rs201,chr3,11,{base('chr3', 11)},120,340,{alt('chr3', 11)},98,301,0.012,1.23,0.21,0.2,,,,\r\n"
                         f".,chr3,25,{base('chr3', 25)},87,90,{alt('chr3', 25)},77,61,0.4,0.79,0.05,0.07,,,,\r\n"),
    "ulirsch2016_mpra": ("GSE87711.csv", "\ufeff" + ULIRSCH_HEADER + "\n\n"
                         f"rs301,1,14,{base('chr1', 14)},{alt('chr1', 14)},Ref,1,145,TRUE,FALSE,2.1,0.1,0.2,0.003,0.04,0.6\n\n"
                         f"rs301,1,14,{base('chr1', 14)},{alt('chr1', 14)},Mut,1,145,TRUE,FALSE,2.7,0.1,0.2,0.003,0.04,0.6\n\n"
                         f"rs302,1,33,{base('chr1', 33)},{alt('chr1', 33)},Mut,1,145,TRUE,FALSE,1.0,0.5,0.6,0.7,0.8,0.1\n"),
    "birnbaum2014_eexon": ("Hela_GENE.csv", "\ufeffPosition,Gene,chromosome (hg19),coordinate (hg19),Reference,"
                           "Substitution,Liver effect size,Liver P-Value,HeLa effect size,HeLa P-Value,Context,GERP\r"
                           f"1,GENE,chr1,40,{base('chr1', 40)},{alt('chr1', 40)},0.1,0.5,0.42,0.003,exon,2.1\r"
                           f"2,GENE,chr1,41,{base('chr1', 41)},{alt('chr1', 41)},NA,NA,-0.2,0.2,exon,NA\r"),
    "weiss2021_lentimpra": ("weiss2021.tsv", "Chromosome\tCentral variant position (hg19)\tArchaic sequence sequence\t"
                            "Modern sequence sequence\tDifferential activity log2(fold-change) - modern vs archaic - NPC\t"
                            "Differential activity P-value - NPC\n"
                            + _weiss_row(17, "0.35", "0.02") + "\n" + _weiss_row(50, "-1.1", "3e-4") + "\n"),
    "ld_blocks": ("ld_blocks.tsv", "block_id\tchrom\tpos\tref\talt\tis_causal\tcell_line\n"
                  f"b1\tchr1\t3\t{base('chr1', 3)}\t{alt('chr1', 3)}\t1\tHepG2\n"
                  f"b1\tchr1\t6\t{base('chr1', 6)}\t{alt('chr1', 6)}\t0\t\n"
                  f"b2\tchr3\t19\t{base('chr3', 19)}\t{alt('chr3', 19)}\tyes\tK562\n"),
    "vcf": ("partners.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            f"chr1\t4\trs401\t{base('chr1', 4)}\t{alt('chr1', 4)}\t.\tPASS\t.\n"
            f"chr1\t27\trs402\t{base('chr1', 27)}\t{alt('chr1', 27)},T\t50\tPASS\tAF=0.1\n"
            f"chr3\t2\t.\t{base('chr3', 2)}\t<DEL>\t.\t.\tSVTYPE=DEL\n"),
    "ensembl_ld": ("lead.ensembl_ld.tsv", "Variation ID\tLocation\tDistance from rs501\tConsequence Type\tr2\tD'\t"
                   "Phenotypes\tGWAS_Trait_Category\tSource\n"
                   "rs501\t1:20-20\t0\tintron_variant\tundefined\tundefined\tA trait;\tOther trait\tEnsembl\n"
                   "rs502\t1:8-8\t-12\tintergenic_variant\t0.916667\t1.000000\t\tNo trait reported\tEnsembl\n"
                   "rs503\t1:44-44\t24\tintron_variant\t0.5\t0.9\t\tNo trait reported\tGWAS\n"),
    "ldlink_proxy": ("proxy.ldlink.tsv", "RS_Number\tCoord\tAlleles\tMAF\tDistance\tDprime\tR2\tCorrelated_Alleles\t"
                     "FORGEdb\tRegulomeDB\tFunction\n"
                     f"rs601\tchr1:25\t({base('chr1', 25)}/{alt('chr1', 25)})\t0.21\t0\t1.0\t1.0\t"
                     f"{base('chr1', 25)}={base('chr1', 25)},{alt('chr1', 25)}={alt('chr1', 25)}\t7\t2b\t.\n"
                     f"rs602\tchr1:31\t({alt('chr1', 31)}/{base('chr1', 31)})\t0.2\t6\t0.98\t0.91\tA=C,G=T\t5\t4\t.\n"
                     f"rs603\tchr1:60\t(-/T)\t0.3\t35\t0.9\t0.85\tA=-,G=T\t\t\t.\n"),
}
assert set(VARIANT_SAMPLES) == set(FORMATS)

BED_SAMPLE = ("peaks.narrowPeak", "track name=dnase\n"
              "chr1\t10\t60\tpeak1\t0\t.\t5.2\t-1\t-1\t25\n"
              "chr3\t0\t40\tpeak2\t0\t+\t3.1\t-1\t-1\t12\n"
              "chr1\t65\t80\n")
SAMPLESHEET_SAMPLE = ("datasets.csv", "dataset,cell_line,format,path,genome_build,notes\n"
                      "std,HepG2,standard,standard.tsv,hg19,our table\n"
                      "partners,K562,vcf,partners.vcf,,\"LD partners, VCF\"\n")
CATALOGUE_SAMPLE = ("models.csv", "model,family,architecture_class,source,pair_of\n"
                    "cnn_small,cnn,cnn,arch:cnn_small,\n"
                    "cnn_small_oneshot,cnn,cnn,arch:cnn_small,cnn_small\n"
                    "dnabert2,hf,transformer,zhihan1996/DNABERT-2-117M,\n")
CATALOGUE_MODELS = ["cnn_small", "cnn_small_oneshot", "dnabert2", "external_x"]
PREDICTIONS_SAMPLE = ("predictions.tsv", "dataset\trow\tchrom\tpos\tref\talt\tmodel\tkind\tref_0\tref_1\talt_0\talt_1\t"
                      "score\tref_p\talt_p\n"
                      "std\t0\tchr1\t5\tA\tG\tdeepsea\tlogits2\t0.1\t1.2\t0.3\t0.4\t\t\t\n"
                      "std\t1\tchr1\t12\tC\tT\tdeepsea\tlogits2\t-2\t1\t0.5\t0.5\t\t\t\n"
                      "std\t\tchr3\t8\tG\tT\tenformer\tprob\t\t\t\t\t\t0.2\t0.7\n"
                      "std\t\t1\t5\tA\tG\tenformer\tdiff\t\t\t\t\t0.31\t\t\n"
                      "other\t0\tchr1\t5\tA\tG\tdeepsea\tlogits2\t0\t1\t0\t1\t\t\t\n")
VARIANTS_FOR_PREDICTIONS = pd.DataFrame({
    "variant_id": ["std:0", "std:1", "std:3"], "dataset": "std", "cell_line": "HepG2",
    "chrom": ["chr1", "chr1", "chr3"], "pos": [5, 12, 8], "ref": ["A", "C", "G"], "alt": ["G", "T", "T"],
    "effect_log2": [0.5, -1.2, 2.0], "pvalue": [0.01, 1e-5, float("nan")], "signed_log10p": [2.0, -5.0, float("nan")],
    "row": [0, 1, 3]})


class PropertyViolation(AssertionError):
    """A reader broke the property: another exception, an anonymous InputError, bad accounting, a hang."""


class _Hang(BaseException):  # not an Exception: a reader's ``except Exception`` cannot swallow it
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise PropertyViolation when the block runs longer than ``seconds`` (SIGALRM; main thread)."""
    def alarm(signum, frame):
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Hang:
        raise PropertyViolation(f"no result after {seconds:g} s (a hang?)") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Reader:
    """One reader: its seed file and how to call it and check the accounting of its result."""

    name: str
    filename: str
    text: str
    read: Callable[[Path], Any]
    check: Callable[[Any, Path], None]


def _fail(message: str) -> None:
    raise PropertyViolation(message)


def _data_lines(path: Path) -> list[str]:
    """The file's non-blank lines, as the readers see them (decoded, line ends translated)."""
    with open_text(path) as fh:
        return [line for line in fh.read().split("\n") if line.strip()]


def _check_rows_in(rows: list[int], path: Path) -> None:
    """Source rows numbered 0..n-1, n = the file's data records (where that count is unambiguous)."""
    distinct = sorted(set(rows))
    if distinct != list(range(len(distinct))):
        _fail("source rows not numbered 0..n-1")
    lines = _data_lines(path)
    if lines and lines[0].startswith("##") or path.suffix == ".vcf":
        records = [line for line in lines if not line.startswith("#")]
        if len(distinct) != len(records):
            _fail(f"{len(records)} VCF records but {len(distinct)} rows accounted for")
    elif '"' not in "".join(lines) and len(distinct) != len(lines) - 1:  # quoted fields may span lines
        _fail(f"{len(lines) - 1} data lines but {len(distinct)} rows accounted for")


def check_parsed(parsed: pd.DataFrame, path: Path) -> None:
    """A parser's accounting: every source row kept or skipped with a reason and a detail."""
    if not {"chrom", "pos", "ref", "alt", "row", "skip_reason", "skip_detail", "flag"} <= set(parsed.columns):
        _fail(f"parsed columns {list(parsed.columns)}")
    n_kept = n_skipped = 0
    pending = ALLELES_COLUMN in parsed.columns  # an LD export: prepare-variants fills ref/alt (ld_exports.py)
    for chrom, pos, ref, alt_, reason, detail in zip(parsed["chrom"], parsed["pos"].isna(), parsed["ref"],
                                                      parsed["alt"], parsed["skip_reason"], parsed["skip_detail"]):
        if not isinstance(reason, str) or not isinstance(detail, str):
            _fail(f"skip reason {reason!r} / detail {detail!r} not text")
        if reason:
            n_skipped += 1
            if not detail.strip():
                _fail(f"a row skipped as {reason} without a detail")
        else:
            n_kept += 1
            if pos or not all(isinstance(x, str) and (x or pending) for x in (chrom, ref, alt_)) or not chrom:
                _fail("a kept row without chrom, pos, ref or alt")
    if n_kept + n_skipped != len(parsed):
        _fail("rows in != kept + skipped")
    rows = parsed["row"].tolist()
    if "allele_index" not in parsed.columns and rows != list(range(len(parsed))):
        _fail("rows not numbered 0..n-1 in order")
    _check_rows_in(rows, path)


def check_prepared(result, path: Path) -> None:
    """prepare-variants' accounting: every source row kept or skipped with a reason, ids unique."""
    s = result.summary
    rows_in, kept, skipped = int(s["rows_in"].iloc[0]), len(result.variants), len(result.skipped)
    if rows_in != kept + skipped or not (s["rows_kept"] == kept).all() or not (s["rows_skipped"] == skipped).all():
        _fail(f"rows in {rows_in} != kept {kept} + skipped {skipped}")
    if s.loc[s["kind"] == "skip", "count"].sum() != skipped:
        _fail("summary skip counts do not add up to the skipped rows")
    if (result.skipped["reason"].astype(str).str.strip() == "").any():
        _fail("a skipped row without a reason")
    if (result.skipped["detail"].astype(str).str.strip() == "").any():
        _fail("a skipped row without a detail")
    if not result.variants["variant_id"].is_unique:
        _fail("variant_id not unique")
    kept_ok = result.variants["ref"].isin(list("ACGT")) & result.variants["alt"].isin(list("ACGT"))
    if not kept_ok.all() or (result.variants["pos"] < 1).any():
        _fail("a kept variant that is not a readable SNV")
    _check_rows_in(result.variants["row"].tolist() + result.skipped["row"].tolist(), path)


def check_bed(frame: pd.DataFrame, path: Path) -> None:
    """Every data line is an interval with 0 <= start < end (track/browser/# and blank lines aside)."""
    lines = [line for line in _data_lines(path) if not line.startswith(("track", "browser", "#"))]
    if len(frame) != len(lines):
        _fail(f"{len(lines)} data lines but {len(frame)} intervals")
    if len(frame) and not ((frame["start"] >= 0) & (frame["end"] > frame["start"])).all():
        _fail("an interval without 0 <= start < end")


def check_samplesheet(specs, path: Path) -> None:
    """One spec per data row, each naming a readable file of a known format."""
    lines = _data_lines(path)
    if '"' not in "".join(lines) and len(specs) != len(lines) - 1:
        _fail(f"{len(lines) - 1} samplesheet rows but {len(specs)} datasets")
    for spec in specs:
        if not spec.path.is_file() or spec.format not in FORMATS or not spec.dataset:
            _fail(f"unusable dataset spec {spec}")


def check_catalogue(result, path: Path) -> None:
    """One row per scored model with a family and an architecture class; pairs of known models."""
    meta, pairs = result
    if sorted(meta["model"]) != sorted(CATALOGUE_MODELS):
        _fail(f"catalogue rows for {sorted(meta['model'])}, scored models {CATALOGUE_MODELS}")
    if meta[["family", "architecture_class"]].isna().any().any() or (meta["family"] == "").any():
        _fail("a model without family or architecture class")
    if any(not isinstance(a, str) or not isinstance(b, str) for a, b in pairs):
        _fail(f"pairs that are not model names: {pairs}")


def check_prediction_rows(pred: pd.DataFrame, path: Path) -> None:
    """One prediction per data line, each knowing its source line, with a whole-number position."""
    lines = _data_lines(path)
    if '"' not in "".join(lines) and len(pred) != len(lines) - 1:
        _fail(f"{len(lines) - 1} data lines but {len(pred)} predictions")
    if not pred["source"].is_unique or str(pred["pos"].dtype) != "int64":
        _fail("predictions without a unique source line or an integer position")
    for col in ("ref_0", "ref_1", "alt_0", "alt_1", "score", "ref_p", "alt_p", "row"):
        if pred[col].dtype.kind != "f":
            _fail(f"value column {col} is {pred[col].dtype}, not float")


def check_predictions(result, path: Path) -> None:
    """Prediction rows in = scored + reported (each with a reason); per model and dataset every
    variant scored or reported as no_prediction."""
    scores, report = result
    rows_in = len(read_tsv(path))
    scored = sum(len(t) for t in scores.values())
    unmatched = report[report["reason"] != "no_prediction"]
    if rows_in != scored + len(unmatched):
        _fail(f"{rows_in} prediction rows but {scored} scored + {len(unmatched)} reported")
    if (report["reason"].astype(str).str.strip() == "").any() or (report["detail"].astype(str).str.strip() == "").any():
        _fail("a report row without a reason or detail")
    for (model, dataset), table in scores.items():
        wanted = (VARIANTS_FOR_PREDICTIONS["dataset"] == dataset).sum()
        gaps = ((report["model"] == model) & (report["dataset"] == dataset) & (report["reason"] == "no_prediction")).sum()
        if len(table) + gaps != wanted or not table["variant_id"].is_unique:
            _fail(f"{model}/{dataset}: {len(table)} scored + {gaps} gaps != {wanted} variants")


def write_genome(folder: Path) -> Path:
    """The tiny genome as a FASTA file in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    fasta = folder / "genome.fa"
    fasta.write_text("".join(f">{name}\n{seq}\n" for name, seq in CONTIGS.items()))
    return fasta


def make_readers(folder: Path, genome: Genome) -> dict[str, Reader]:
    """Every reader, with the files its seed refers to written into ``folder`` (the genome's folder)."""
    for name, text in VARIANT_SAMPLES.values():  # the files the samplesheet names
        (folder / name).write_bytes(text.encode())
    variants = predictions.read_variants([write_tsv(VARIANTS_FOR_PREDICTIONS, folder / "std.variants.tsv")])
    readers = {}
    for fmt, (filename, text) in VARIANT_SAMPLES.items():
        def prepare(path: Path, fmt=fmt):
            return prepare_dataset(DatasetSpec("ds", "HepG2", fmt, path, "hg19"), genome)
        readers[fmt] = Reader(fmt, filename, text, lambda path, fmt=fmt: get_parser(fmt).parse(path, "HepG2"),
                              check_parsed)
        readers[f"prepare:{fmt}"] = Reader(f"prepare:{fmt}", filename, text, prepare, check_prepared)
    readers["bed"] = Reader("bed", *BED_SAMPLE, read_bed, check_bed)
    readers["samplesheet"] = Reader("samplesheet", *SAMPLESHEET_SAMPLE, read_samplesheet, check_samplesheet)
    readers["catalogue"] = Reader("catalogue", *CATALOGUE_SAMPLE,
                                  lambda p: (evaluate.read_catalogue(p, CATALOGUE_MODELS),
                                             evaluate.read_pairs(p, CATALOGUE_MODELS)), check_catalogue)
    readers["predictions"] = Reader("predictions", *PREDICTIONS_SAMPLE, lambda p: predictions.read_predictions(p, {}),
                                    check_prediction_rows)
    readers["import:predictions"] = Reader("import:predictions", *PREDICTIONS_SAMPLE,
                                           lambda p: predictions.import_predictions([p], variants), check_predictions)
    return readers


def check_property(reader: Reader, path: Path) -> str:
    """Run ``reader`` on ``path``: 'error' (an InputError naming the file) or 'result' (accounting
    checked); PropertyViolation for anything else."""
    try:
        with time_limit(CASE_SECONDS):
            result = reader.read(path)
    except InputError as exc:
        if str(path) not in str(exc):
            raise PropertyViolation(f"{reader.name}: InputError without the file name: {exc}") from exc
        return "error"
    except PropertyViolation:
        raise
    except Exception as exc:
        raise PropertyViolation(f"{reader.name}: {type(exc).__name__} instead of InputError: {exc}") from exc
    reader.check(result, path)
    return "result"
