"""``regvarbench stub``: a step's outputs, empty, for the ``stub:`` block of its Nextflow module.

``nextflow run -stub`` checks the DAG without computing anything. Each module's stub block is this
one call: it writes the files the step would write, each table header-only with the columns of
its contract (``contracts``), the model folders named as ``artifacts`` names them, and the task's
``versions.yml`` (what ``regvarbench versions`` prints), so that no column list is copied into
Groovy and a stub task starts Python once.

    regvarbench stub make-windows --prefix sim_raqtl_HepG2 --process REGVARBENCH:SCORE_VARIANTS:MAKE_WINDOWS
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .artifacts import SPEC_FILE, WEIGHTS_FILE, model_dir_name
from .contracts import (DETECTION_COLUMNS, DETECTION_FILE, IMPORT_REPORT_COLUMNS, IMPORT_REPORT_FILE, ONESHOT_SUFFIX,
                        RANKED_COLUMNS, RANKED_SUFFIX, REGION_COLUMNS, REGIONS_SUFFIX, REGIONS_SUMMARY_SUFFIX,
                        SCORE_COLUMNS, SCORES_SUFFIX, SEQUENCE_COLUMNS, SEQUENCES_SUFFIX, SEQUENCES_SUMMARY_SUFFIX,
                        SKIPPED_COLUMNS, SKIPPED_SUFFIX, SPLIT_COLUMNS, SPLIT_SUFFIX, SPLIT_SUMMARY_COLUMNS,
                        SPLIT_SUMMARY_SUFFIX, STEP_SUMMARY_COLUMNS, TOP_COLUMNS, TOP_SUFFIX, VARIANT_COLUMNS,
                        VARIANT_SUMMARY_COLUMNS, VARIANT_SUMMARY_SUFFIX, VARIANTS_SUFFIX, WINDOWS_FILE_COLUMNS,
                        WINDOWS_SUMMARY_COLUMNS, WINDOWS_SUMMARY_SUFFIX, parse_windows_name, scores_file_name,
                        windows_file_name)
from .io import InputError
from .versions import versions_block

# What a stub file holds: a column list (a header-only table), None (an empty file) or a text.
Content = list[str] | str | None

# the stub's synthetic benchmark: a one-contig genome and empty sources, named by its samplesheets
_SIM_REGIONS = ("cell_line,dnase,h3k27ac,exons,tss,blacklist,genome\nHepG2,peaks/HepG2.dnase.narrowPeak,"
                "peaks/HepG2.h3k27ac.bed,annotation/exons.bed,annotation/tss.bed,annotation/blacklist.bed,genome.fa\n")
_SIM_DATASETS = ("dataset,cell_line,format,path,genome_build\n"
                 "sim_raqtl_HepG2,HepG2,sure_raqtl,variants/sim_raqtl_HepG2.txt.gz,sim1\n")


def _simulate(p: str) -> dict[str, Content]:
    empty = ["peaks/HepG2.dnase.narrowPeak", "peaks/HepG2.h3k27ac.bed", "annotation/exons.bed", "annotation/tss.bed",
             "annotation/blacklist.bed", "variants/sim_raqtl_HepG2.txt.gz", "variants/sim_loci.region.vcf.gz"]
    return {f"{p}/genome.fa": ">chr1\nACGT\n", f"{p}/genome.fa.fai": "chr1\t4\t6\t4\t5\n",
            **{f"{p}/{name}": None for name in empty},
            f"{p}/regions.csv": _SIM_REGIONS, f"{p}/datasets.csv": _SIM_DATASETS}


def _model(folder: str, weights: bool) -> dict[str, Content]:
    return {**({f"{folder}/{WEIGHTS_FILE}": None} if weights else {}), f"{folder}/{SPEC_FILE}": None,
            f"{folder}/{DETECTION_FILE}": DETECTION_COLUMNS}


# step -> its outputs from (prefix, model folder): file path -> content. Keys are the subcommands.
OUTPUTS: dict[str, Callable[[str, str], dict[str, Content]]] = {
    "simulate": lambda p, _m: _simulate(p),
    "build-regions": lambda p, _m: {p + REGIONS_SUFFIX: REGION_COLUMNS, p + REGIONS_SUMMARY_SUFFIX: STEP_SUMMARY_COLUMNS},
    "extract-sequences": lambda p, _m: {p + SEQUENCES_SUFFIX: SEQUENCE_COLUMNS,
                                        p + SEQUENCES_SUMMARY_SUFFIX: STEP_SUMMARY_COLUMNS},
    "split": lambda p, _m: {p + SPLIT_SUFFIX: SPLIT_COLUMNS, p + SPLIT_SUMMARY_SUFFIX: SPLIT_SUMMARY_COLUMNS},
    "train": lambda _p, m: _model(m, weights=True),
    "oneshot": lambda _p, m: _model(m, weights=False),
    "prepare-variants": lambda p, _m: {p + VARIANTS_SUFFIX: VARIANT_COLUMNS, p + SKIPPED_SUFFIX: SKIPPED_COLUMNS,
                                       p + VARIANT_SUMMARY_SUFFIX: VARIANT_SUMMARY_COLUMNS},
    "make-windows": lambda p, _m: {windows_file_name(p, "00000"): WINDOWS_FILE_COLUMNS,
                                   f"{p}{WINDOWS_SUMMARY_SUFFIX}": WINDOWS_SUMMARY_COLUMNS},
    "score": lambda p, _m: {f"{p}{SCORES_SUFFIX}": SCORE_COLUMNS},
    "import-predictions": lambda p, _m: {f"{p}/{IMPORT_REPORT_FILE}": IMPORT_REPORT_COLUMNS},
    "evaluate": lambda p, _m: {f"{p}/tables/{name}": None
                               for name in ("correlation_overall.tsv", "evaluation.json", "provenance.tsv")},
    "rank": lambda p, _m: {f"{p}/stub{RANKED_SUFFIX}": RANKED_COLUMNS, f"{p}/stub{TOP_SUFFIX}": TOP_COLUMNS},
    "report": lambda p, _m: {f"{p}/index.html": "<html><body>stub</body></html>\n"},
}
MODEL_STEPS = {"train": "", "oneshot": ONESHOT_SUFFIX}  # their folder: <model><suffix>__<cell_line>


def stub_outputs(step: str, prefix: str | None = None, model_name: str | None = None,
                 cell_line: str | None = None, windows: list[str] | None = None) -> dict[str, Content]:
    """The files the stub of ``step`` writes (relative paths) and what each holds.

    Parameters
    ----------
    step : str
        A subcommand (a key of ``OUTPUTS``).
    prefix : str or None
        Stem or folder of the outputs (steps other than ``MODEL_STEPS``).
    model_name, cell_line : str or None
        The model folder's model and cell line (``MODEL_STEPS``); ``score`` of several windows files:
        the model whose score tables these are.
    windows : list of str, optional
        ``score`` of several windows files (a packed SCORE task): one score table per file, named as
        ``score`` names them (``contracts.scores_file_name``), instead of ``<prefix>.scores.tsv``.

    Returns
    -------
    dict of str to Content
        Relative path -> column list (header-only table), text, or None (empty file).

    Raises
    ------
    InputError
        When the arguments the step needs are missing.
    """
    if windows:
        if step != "score" or not model_name:
            raise InputError("stub: --windows is for score, with --model-name (the model of its score tables)")
        return {scores_file_name(model_name, *parse_windows_name(w)): SCORE_COLUMNS for w in windows}
    if step in MODEL_STEPS:
        if not (model_name and cell_line):
            raise InputError(f"stub {step}: give --model-name and --cell-line (its model folder)")
        return OUTPUTS[step]("", model_dir_name(model_name + MODEL_STEPS[step], cell_line))
    if not prefix:
        raise InputError(f"stub {step}: give --prefix (the stem or folder of its outputs)")
    return OUTPUTS[step](prefix, "")


def write_stub(step: str, outdir: str | Path, prefix: str | None = None, model_name: str | None = None,
               cell_line: str | None = None, windows: list[str] | None = None) -> list[Path]:
    """Write the stub outputs of ``step`` under ``outdir``; returns their paths.

    Parameters
    ----------
    step : str
        A subcommand (a key of ``OUTPUTS``).
    outdir : str or pathlib.Path
        Output folder.
    prefix, model_name, cell_line : str or None
        As for ``stub_outputs``.
    windows : list of str, optional
        As for ``stub_outputs``.

    Returns
    -------
    list of pathlib.Path
    """
    written = []
    for name, content in stub_outputs(step, prefix, model_name, cell_line, windows).items():
        path = Path(outdir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\t".join(content) + "\n" if isinstance(content, list) else content or "")
        written.append(path)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("step", choices=list(OUTPUTS), help="the subcommand whose outputs to write")
    parser.add_argument("--process", required=True, help="Nextflow task.process name (the versions.yml key)")
    parser.add_argument("--prefix", default=None, help="stem or folder of the outputs (the module's prefix)")
    parser.add_argument("--model-name", default=None, help="train, oneshot: the model (its folder's name)")
    parser.add_argument("--cell-line", default=None, help="train, oneshot: the cell line (its folder's name)")
    parser.add_argument("--windows", nargs="+", default=None,
                        help="score of several windows files: one score table per file, of --model-name")
    parser.add_argument("--outdir", default=".", help="where to write (default: the current folder)")


def run(args: argparse.Namespace) -> None:
    write_stub(args.step, args.outdir, args.prefix, args.model_name, args.cell_line, args.windows)
    (Path(args.outdir) / "versions.yml").write_text(versions_block(args.process) + "\n")
