"""The tables and file names passed between steps: one definition of each (docs/contracts.md).

Every column list, split name and file-name pattern that more than one step writes or reads
lives here, so that a writer and its readers cannot drift apart. This module sits just above
``io`` in the layer order (ARCHITECTURE.md): it imports nothing of ours but ``io`` and no
third-party package beyond numpy and pandas.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .io import InputError, require_columns

# region tables (<cell>.regions.tsv, written by `build-regions`, read by `extract-sequences`)
REGION_COLUMNS = ["region_id", "chrom", "start", "end", "label", "cell_line"]
# sequence tables (<cell>.sequences.tsv, written by `extract-sequences`, read by `split`)
SEQUENCE_COLUMNS = REGION_COLUMNS + ["sequence"]
# the training set's accounting per step (<cell>.regions_summary.tsv, <cell>.sequences_summary.tsv)
STEP_SUMMARY_COLUMNS = ["cell_line", "step", "count"]
# split tables (<cell>.split.tsv, written by `split`, read by `train` and `oneshot`)
SPLIT_COLUMNS = SEQUENCE_COLUMNS + ["split"]
SPLITS = ("train", "valid", "test")
# rows per split and label (<cell>.split_summary.tsv)
SPLIT_SUMMARY_COLUMNS = ["cell_line", "split", "label", "count"]
# prepared variants (<dataset>.variants.tsv, written by `prepare-variants`, read by `make-windows`,
# `evaluate`, `rank`, `import-predictions`; liftover and LD columns follow when a dataset has them)
VARIANT_COLUMNS = ["variant_id", "dataset", "cell_line", "chrom", "pos", "ref", "alt", "effect_log2", "pvalue",
                   "signed_log10p", "row", "variant_class", "swapped"]
# the rows prepare-variants did not keep (<dataset>.skipped.tsv) and its accounting (<dataset>.summary.tsv)
SKIPPED_COLUMNS = ["dataset", "row", "reason", "detail"]
VARIANT_SUMMARY_COLUMNS = ["dataset", "rows_in", "rows_kept", "rows_skipped", "reason", "count", "kind", "detail"]
# LD partners of a lead SNP (LD exports, variants tables of loci, ranked tables)
LOCUS_COLUMNS = ["locus_id", "snp_id", "is_lead", "r2", "distance"]
# variant windows (<dataset>.windows.<k>.tsv, written by `make-windows`, read by `score`): the windows,
# where they lie, the alt window's genome span and the variant class; in written chunks REF_ROW follows
# n_padded, and STRAND comes last with --reverse-complement
WINDOW_COLUMNS = ["variant_id", "dataset", "cell_line", "ref_seq", "alt_seq", "n_padded"]
WINDOW_LOCUS_COLUMNS = ["chrom", "window_start"]  # the genome's contig name, 0-based start
ALT_SPAN_COLUMNS = ["alt_start", "alt_end"]  # 0-based, half-open
CLASS_COLUMN = "variant_class"  # snv, mnv, insertion, deletion, delins (alleles.VARIANT_CLASSES)
REF_ROW = "ref_row"  # the row of the same chunk holding this variant's reference window
STRAND = "strand"  # '+' forward, '-' reverse-complement windows
WINDOWS_FILE_COLUMNS = WINDOW_COLUMNS + [REF_ROW] + WINDOW_LOCUS_COLUMNS + ALT_SPAN_COLUMNS + [CLASS_COLUMN]
WINDOWS_SUMMARY_COLUMNS = ["dataset", "n_variants", "n_chunks", "n_padded_windows", "length"]
WINDOWS_SUMMARY_SUFFIX = ".windows_summary.tsv"  # <dataset><suffix>, or <prefix><suffix> (make-windows)
# enhancer_detection.tsv of every model directory (train, oneshot), read by evaluate
DETECTION_FILE = "enhancer_detection.tsv"
DETECTION_COLUMNS = ["model", "cell_line", "split", "n", "auroc", "auprc", "f1"]
# score tables (<model>.<dataset>.<chunk>.scores.tsv, written by `score` and `import-predictions`)
SCORE_COLUMNS = ["variant_id", "dataset", "variant_class", "model", "ref_output", "alt_output", "score"]
SCORES_SUFFIX = ".scores.tsv"  # <model>.<dataset>.<chunk><suffix>, or <prefix><suffix> (task.ext.prefix)
# the columns of a score table that evaluation needs (older tables may lack the others)
EVALUATED_SCORE_COLUMNS = ["variant_id", "dataset", "model", "score"]
# the names of the tables the steps write, <prefix><suffix> (the step's default prefix: the cell line or
# dataset; task.ext.prefix); the stubs (regvarbench.stub) name theirs from here too
REGIONS_SUFFIX, REGIONS_SUMMARY_SUFFIX = ".regions.tsv", ".regions_summary.tsv"  # build-regions
SEQUENCES_SUFFIX, SEQUENCES_SUMMARY_SUFFIX = ".sequences.tsv", ".sequences_summary.tsv"  # extract-sequences
SPLIT_SUFFIX, SPLIT_SUMMARY_SUFFIX = ".split.tsv", ".split_summary.tsv"  # split
VARIANTS_SUFFIX, SKIPPED_SUFFIX, VARIANT_SUMMARY_SUFFIX = ".variants.tsv", ".skipped.tsv", ".summary.tsv"  # prepare-variants
IMPORT_REPORT_FILE = "import_report.tsv"  # import-predictions, in its output folder
# the rows of external predictions not imported (<id>/import_report.tsv, `import-predictions`)
IMPORT_REPORT_COLUMNS = ["model", "dataset", "row", "reason", "detail", "source"]
# ranked loci (<dataset>.ranked.tsv) and their consensus (<dataset>.top_candidates.tsv), written by `rank`
LOCUS, SNP_ID, LEAD, R2 = LOCUS_COLUMNS[:4]
RANKED_COLUMNS = ["dataset", LOCUS, "variant_id", SNP_ID, "chrom", "pos", "ref", "alt", "variant_class", LEAD, R2,
                  "model", "score", "rank", "n_ranked", "lead_rank", "mean_rank", "rank_spread", "n_models",
                  "consensus_rank"]
TOP_COLUMNS = ["dataset", LOCUS, "consensus_rank", "variant_id", SNP_ID, "chrom", "pos", "ref", "alt", LEAD,
               "mean_rank", "rank_spread", "n_models", "n_variants", "lead_consensus_rank"]
RANKED_SUFFIX, TOP_SUFFIX, VCF_SUFFIX = ".ranked.tsv", ".top_candidates.tsv", ".scores.vcf.gz"  # <dataset><suffix>
# name suffix of the models written by `regvarbench oneshot`; evaluate pairs <model>_oneshot with <model>
ONESHOT_SUFFIX = "_oneshot"

# coordinate-only window chunks (make-windows --layout loci, <dataset>.windows.<k>.tsv.gz): score
# cuts both windows of each row from the genome (--genome); optional column `reverse_complement` (1:
# the variant's forward and reverse-complement windows, as two rows)
WINDOW_LOCI_COLUMNS = ["variant_id", "dataset", "cell_line", "chrom", "pos", "ref", "alt", "length"]
WINDOW_LOCI_RC = "reverse_complement"

# what follows the dataset in a chunk's name, the chunk number captured; Groovy reads the same
# expression from assets/schema_models.json (x-pipeline.windows_chunk_regex; tests/unit/test_catalogue.py)
WINDOWS_CHUNK_REGEX = r"\.windows\.(\d{5,})\.tsv(?:\.gz)?$"
_WINDOWS_NAME = re.compile(r"^(?P<dataset>.+)\.windows\.(?P<chunk>[^.]+)\.tsv(?:\.gz)?$")


def parse_windows_name(path: str | Path) -> tuple[str, str]:
    """(dataset, chunk) from a file named ``<dataset>.windows.<k>.tsv``.

    Parameters
    ----------
    path : str or pathlib.Path
        A windows file.

    Returns
    -------
    tuple of str
        ``(dataset, chunk)``, e.g. ``("sure_HepG2", "00000")``.

    Raises
    ------
    InputError
        When the file name does not have that form.
    """
    match = _WINDOWS_NAME.match(Path(path).name)
    if not match:
        raise InputError(f"{path}: windows file name must look like <dataset>.windows.<k>.tsv")
    return match["dataset"], match["chunk"]


def windows_file_name(dataset: str, chunk: str, loci: bool = False) -> str:
    """``<dataset>.windows.<chunk>.tsv``: one chunk of a dataset's variant windows (``parse_windows_name`` reads it);
    ``<dataset>.windows.<chunk>.tsv.gz`` for a coordinate-only chunk (``loci``, ``WINDOW_LOCI_COLUMNS``).

    Parameters
    ----------
    dataset : str
        Dataset name.
    chunk : str
        Chunk number, e.g. ``00000``.
    loci : bool
        Whether the chunk is coordinate-only.

    Returns
    -------
    str
    """
    return f"{dataset}.windows.{chunk}.tsv" + (".gz" if loci else "")


def windows_chunk_pattern(dataset: str) -> re.Pattern:
    """The names of every chunk ``windows_file_name`` gives ``dataset``, either layout.

    Parameters
    ----------
    dataset : str
        The dataset.

    Returns
    -------
    re.Pattern
        Matches ``<dataset>.windows.<k>.tsv`` and ``.tsv.gz`` (k of five digits or more) with ``fullmatch``.
    """
    return re.compile(re.escape(dataset) + WINDOWS_CHUNK_REGEX)


def scores_file_name(model: str, dataset: str, chunk: str) -> str:
    """``<model>.<dataset>.<chunk>.scores.tsv``: the score table of one model on one windows file.

    Parameters
    ----------
    model : str
        Model name.
    dataset : str
        Dataset name.
    chunk : str
        Chunk of the windows file (``parse_windows_name``).

    Returns
    -------
    str
    """
    return f"{model}.{dataset}.{chunk}{SCORES_SUFFIX}"


def validate_split_table(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """Checked copy of a split table: one cell line, 0/1 labels, known splits, equal lengths.

    Parameters
    ----------
    table : pandas.DataFrame
        A split table, with the columns of ``SPLIT_COLUMNS``.
    source : str
        Where it came from, for messages.

    Returns
    -------
    pandas.DataFrame
        A copy with ``sequence`` upper-cased and ``label`` as int.

    Raises
    ------
    InputError
        For a missing column, an empty sequence, a label other than 0/1, an unknown split, several
        cell lines, sequences of several lengths, or a train or valid split without both labels.
    """
    require_columns(table, SPLIT_COLUMNS, source)
    df = table.copy()
    if df["sequence"].isna().any():
        raise InputError(f"{source}: empty 'sequence' in row(s) {_rows(df['sequence'].isna())}")
    df["sequence"] = df["sequence"].astype(str).str.upper()
    labels = pd.to_numeric(df["label"], errors="coerce")
    if not labels.isin([0, 1]).all():
        raise InputError(f"{source}: column 'label' must be 0 or 1; bad row(s) {_rows(~labels.isin([0, 1]))}")
    df["label"] = labels.astype(int)
    bad_split = ~df["split"].isin(SPLITS)
    if bad_split.any():
        raise InputError(f"{source}: column 'split' must be one of {', '.join(SPLITS)}; "
                         f"found {sorted(map(str, df.loc[bad_split, 'split'].unique()))}")
    cells = df["cell_line"].astype(str).unique()
    if len(cells) != 1:
        raise InputError(f"{source}: column 'cell_line' must hold one cell line; found {sorted(cells)}")
    lengths = df["sequence"].str.len().unique()
    if len(lengths) != 1:
        raise InputError(f"{source}: column 'sequence' must hold sequences of one length; "
                         f"found lengths {sorted(int(x) for x in lengths)[:10]}")
    for split in ("train", "valid"):
        y = df.loc[df["split"] == split, "label"]
        if y.nunique() < 2:
            raise InputError(f"{source}: split {split!r} needs both enhancers (label 1) and controls "
                             f"(label 0); it has {len(y)} row(s) with labels {sorted(y.unique().tolist())}")
    return df


def _rows(mask: pd.Series) -> str:
    idx = np.flatnonzero(mask.to_numpy())
    return ", ".join(str(i) for i in idx[:5]) + (" ..." if len(idx) > 5 else "")
