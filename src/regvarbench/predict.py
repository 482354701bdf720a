"""Subcommand ``predict``: score your own variants with one or more models on one machine.

A VCF of a region (or a file in any variant format, ``--format``) is prepared against the genome
(alleles checked, every row kept or skipped with its reason), windowed at ``--window-length``,
scored by every ``--model`` (a model directory written by ``train`` or ``oneshot``, e.g. a
pipeline run's ``models/<model>__<cell>/``) and ranked: no measured effects and no training set
are needed. It is the pipeline's PREPARE_VARIANTS, MAKE_WINDOWS, SCORE and RANK in one process,
with the same library calls, so its tables equal theirs. Writes into ``--outdir``:

- ``<dataset>.variants.tsv``, ``.skipped.tsv``, ``.summary.tsv`` (prepare-variants);
- ``<model>.<dataset>.predict.scores.tsv`` per model (score's columns);
- ``<dataset>.ranked.tsv``, ``.top_candidates.tsv``, ``.scores.vcf.gz`` (+ ``.tbi``) (rank).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .alleles import DEFAULT_WINDOW_LENGTH
from .contracts import SKIPPED_SUFFIX, VARIANTS_SUFFIX, scores_file_name
from .device import DEVICES, PRECISIONS, resolve_device
from .evaluate import read_scores, read_variants
from .genome import Genome
from .io import InputError, write_tsv
from .models import load_model
from .rank import DEFAULT_RANKING, DEFAULT_TOP, RANKING_CHOICES, write_ranked
from .score import score_windows, set_precision
from .variants import FORMATS
from .variants.prepare import (MAX_MISMATCH_RATE, MAX_SWAP_RATE, DatasetSpec, check_spec, prepare_dataset,
                               write_prepared)
from .windows import build_windows

log = logging.getLogger(__name__)

CHUNK = "predict"  # the chunk label of predict's score tables: <model>.<dataset>.predict.scores.tsv


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, nargs="+", metavar="DIR",
                        help="model directories (with spec.json) from train or oneshot, e.g. results/models/<model>__<cell>")
    parser.add_argument("--variants", required=True, metavar="FILE",
                        help="your variants: a VCF (plain or bgzipped; SNVs, indels, MNVs) or a file of --format")
    parser.add_argument("--format", default="vcf", choices=sorted(FORMATS), help="format of --variants (default vcf)")
    parser.add_argument("--dataset", default=None,
                        help="name of the dataset in the tables (default: the file name without its extensions)")
    parser.add_argument("--cell-line", default=None,
                        help="cell line of the variants (default: the first model's cell line)")
    parser.add_argument("--genome", required=True, help="reference FASTA of the variants' build")
    parser.add_argument("--genome-build", default="unspecified", help="declared build of --variants")
    parser.add_argument("--window-length", type=int, default=DEFAULT_WINDOW_LENGTH,
                        help=f"window length in bases (default {DEFAULT_WINDOW_LENGTH}, as the pipeline's --window_length)")
    parser.add_argument("--reverse-complement", action="store_true",
                        help="also score the reverse-complement windows and average both strands")
    parser.add_argument("--max-mismatch-rate", type=float, default=MAX_MISMATCH_RATE,
                        help=f"largest tolerated fraction of rows matching neither allele (default {MAX_MISMATCH_RATE})")
    parser.add_argument("--max-swap-rate", type=float, default=MAX_SWAP_RATE,
                        help=f"largest tolerated fraction of rows whose ALT matches the genome (default {MAX_SWAP_RATE})")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--precision", default="auto", choices=PRECISIONS, help="as in score (default auto)")
    parser.add_argument("--device", default="auto", choices=DEVICES, help="as in score (default auto)")
    parser.add_argument("--no-cone", action="store_true", help="full forward passes for every alt (as in score)")
    parser.add_argument("--ranking", choices=RANKING_CHOICES, default=DEFAULT_RANKING,
                        help="pos_score: highest score first (default); abs_score: largest |score| first")
    parser.add_argument("--top", type=int, default=DEFAULT_TOP,
                        help=f"variants per locus in <dataset>.top_candidates.tsv (default {DEFAULT_TOP})")
    parser.add_argument("--outdir", required=True, help="output folder")


def run(args: argparse.Namespace) -> None:
    for name, low in (("window_length", 1), ("batch_size", 1), ("top", 1)):
        if getattr(args, name) < low:
            raise InputError(f"--{name.replace('_', '-')} must be >= {low}, got {getattr(args, name)}")
    path = Path(args.variants)
    dataset = args.dataset or dataset_name(path)
    outdir = Path(args.outdir)
    device = resolve_device(args.device)
    adapters = [load_model(d, device=device) for d in args.model]
    names = [a.name for a in adapters]
    if len(set(names)) < len(names):
        raise InputError(f"--model: two directories hold the same model name ({', '.join(sorted(names))}); "
                         "scores would overwrite each other")
    cell_line = args.cell_line or str(adapters[0].spec.get("cell_line") or "unspecified")
    spec = check_spec(DatasetSpec(dataset, cell_line, args.format, path, args.genome_build), "command line")
    with Genome(args.genome) as genome:
        prepared = prepare_dataset(spec, genome, args.max_mismatch_rate, max_swap_rate=args.max_swap_rate,
                                   window_length=args.window_length)
        write_prepared(prepared, dataset, outdir)
        variants_path = outdir / f"{dataset}{VARIANTS_SUFFIX}"
        if not len(prepared.variants):
            raise InputError(f"{path}: no variant was kept (reasons in {outdir / f'{dataset}{SKIPPED_SUFFIX}'})")
        windows = build_windows(prepared.variants, genome, args.window_length, variants_path,
                                reverse_complement=args.reverse_complement)
        score_paths = []
        for adapter in adapters:
            precision = set_precision(adapter, args.precision, device)
            log.info("%s: scoring %d variants with %s on %s in %s", dataset, len(prepared.variants), adapter.name,
                     device, precision)
            context = genome if adapter.uses_genome_context else None
            scores = score_windows(adapter, windows, args.batch_size, cone=not args.no_cone, genome=context)
            score_paths.append(write_tsv(scores, outdir / scores_file_name(adapter.name, dataset, CHUNK)))
    # read back as rank reads the pipeline's tables, so the ranked outputs equal the pipeline's
    variants, _ = read_variants([variants_path])
    write_ranked(variants.dropna(axis=1, how="all"), read_scores(score_paths), dataset, outdir, args.ranking, args.top)


def dataset_name(path: Path) -> str:
    """A dataset name from a file name: without its compression and format extensions.

    Parameters
    ----------
    path : Path
        The variants file, e.g. ``my_locus.vcf.gz``.

    Returns
    -------
    str
        e.g. ``my_locus``; characters other than letters, digits, ``_``, ``-`` and ``.`` become ``_``.
    """
    name = path.name
    for ext in (".gz", ".bgz", ".vcf", ".tsv", ".txt", ".csv"):
        name = name.removesuffix(ext)
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name) or "variants"
