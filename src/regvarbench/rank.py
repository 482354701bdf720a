"""Rank the variants of each locus by every model's score (``regvarbench rank``): the tables and the
annotated VCF a geneticist reads.

Loci: a variants table from an LD export (``ensembl_ld``, ``ldlink_proxy``) has ``locus_id``
(one lead SNP and its partners) and ``is_lead``; one from ``ld_blocks`` has ``block_id`` (no
lead); any other dataset (a VCF of a region) is one locus named by the dataset.

The ranking rule, per locus and model (``--ranking``, keys in ``metrics.ranking_key``):
``pos_score`` (default) puts the highest score first, as the study ranked LD partners; ``abs_score``
puts the largest |score| first. Rank 1 is the top; a variant tied with others takes the last of
their ranks (as ``metrics.rank_in_block`` does for evaluation: a model that cannot tell variants
apart earns no credit); a non-finite score is not ranked. Across models, a variant's
``mean_rank`` is the mean of its ranks by the models that ranked it, ``rank_spread`` their
max - min, and ``consensus_rank`` its rank within the locus by ``mean_rank`` (smallest first,
ties as above). ``lead_rank`` is the lead SNP's rank by the row's model (the best of its entries
when a multi-allelic lead was split).

Outputs per dataset, in ``--outdir``: ``<dataset>.ranked.tsv`` (``RANKED_COLUMNS``, one row per
variant and model), ``<dataset>.top_candidates.tsv`` (``TOP_COLUMNS``, the ``--top`` best
variants of each locus by consensus) and ``<dataset>.scores.vcf.gz`` (bgzipped, with its tabix
index ``.tbi``): one record per variant, one INFO field per model (``RVB_<model>``, Float, absent
where the model gave no finite score), each described by a header line, plus ``RVB_VARIANT``,
``RVB_LOCUS``, ``RVB_LEAD`` and ``RVB_CONSENSUS_RANK``.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
from tqdm import tqdm

from . import metrics
from .contracts import (LEAD, LOCUS, R2, RANKED_COLUMNS, RANKED_SUFFIX, SNP_ID, TOP_COLUMNS, TOP_SUFFIX,
                        VCF_SUFFIX)
from .evaluate import read_scores, read_variants
from .io import InputError, read_tsv, require_columns, write_tsv

log = logging.getLogger(__name__)

BLOCK = "block_id"  # ld_blocks' locus column
DEFAULT_RANKING = "pos_score"
RANKING_CHOICES = ("pos_score", "abs_score")  # of metrics.LD_RANKINGS: the two a geneticist asks for
DEFAULT_TOP = 3
POSITION_COLUMNS = ["chrom", "pos", "ref", "alt"]
INFO_PREFIX = "RVB_"
_INFO_KEY = re.compile(r"[^0-9A-Za-z_.]")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", nargs="+", required=True, metavar="TSV",
                        help="variants tables from prepare-variants (one per dataset)")
    parser.add_argument("--scores", nargs="+", required=True, metavar="TSV",
                        help="score tables from score or import-predictions (any models, chunks concatenate)")
    parser.add_argument("--ranking", choices=RANKING_CHOICES, default=DEFAULT_RANKING,
                        help="pos_score: highest score first (default, the study's); abs_score: largest |score| first")
    parser.add_argument("--all-datasets", action="store_true",
                        help="rank every dataset; default: only those with loci (LD exports, ld_blocks) or without "
                             "measured effects (a VCF of a region), the others being the evaluation's business")
    parser.add_argument("--top", type=int, default=DEFAULT_TOP,
                        help=f"variants per locus in <dataset>.top_candidates.tsv (default {DEFAULT_TOP})")
    parser.add_argument("--outdir", required=True, help="output folder")


def run(args: argparse.Namespace) -> None:
    if args.top < 1:
        raise InputError(f"--top must be >= 1, got {args.top}")
    variants, _ = read_variants(args.variants)
    for path in args.variants:  # evaluate's reader needs no positions; the VCF does
        require_columns(read_tsv(path, nrows=0), POSITION_COLUMNS, path)
    scores = read_scores(args.scores)
    outdir = Path(args.outdir)
    for dataset, table in variants.groupby("dataset", sort=True):
        # the tables were read together: a column of another dataset (block_id, locus_id) is empty here
        table = table.dropna(axis=1, how="all")
        if not (args.all_datasets or is_rankable(table)):
            log.info("%s: measured effects and no loci: evaluated, not ranked (--all-datasets ranks it)", dataset)
            continue
        write_ranked(table, scores[scores["dataset"] == dataset], dataset, outdir, args.ranking, args.top)


def write_ranked(variants: pd.DataFrame, scores: pd.DataFrame, dataset: str, outdir: Path,
                 ranking: str = DEFAULT_RANKING, top: int = DEFAULT_TOP) -> pd.DataFrame:
    """Rank one dataset's variants and write ``<dataset>.ranked.tsv``, ``.top_candidates.tsv`` and
    ``.scores.vcf.gz`` (+ ``.tbi``) into ``outdir``.

    Parameters
    ----------
    variants : pandas.DataFrame
        The dataset's variants table (columns of other datasets read with it already dropped).
    scores : pandas.DataFrame
        Its score rows, any models.
    dataset : str
        The dataset's name (the files' stem).
    outdir : Path
        Output folder.
    ranking : str
        A key of RANKING_CHOICES.
    top : int
        Variants per locus in the top-candidates table.

    Returns
    -------
    pandas.DataFrame
        The ranked table (RANKED_COLUMNS).
    """
    ranked = rank_variants(variants, scores, ranking)
    if not len(ranked):
        log.warning("%s: no model scored any of its %d variants; nothing ranked", dataset, len(variants))
    write_tsv(ranked, outdir / f"{dataset}{RANKED_SUFFIX}")
    write_tsv(top_candidates(ranked, top), outdir / f"{dataset}{TOP_SUFFIX}")
    vcf = write_scores_vcf(ranked, outdir / f"{dataset}{VCF_SUFFIX}", ranking=ranking)
    log.info("%s: %d variants in %d loci ranked by %d models (%s); wrote %s", dataset, ranked["variant_id"].nunique(),
             ranked[LOCUS].nunique(), ranked["model"].nunique(), ranking, vcf)
    return ranked


def is_rankable(variants: pd.DataFrame) -> bool:
    """Whether a dataset is one a geneticist ranks: it has loci (``locus_id`` or ``block_id``) or no
    measured effect (every ``effect_log2`` missing, as in a VCF of a region).

    Parameters
    ----------
    variants : pandas.DataFrame
        The variants table of one dataset.

    Returns
    -------
    bool
    """
    if LOCUS in variants.columns or BLOCK in variants.columns:
        return True
    effect = pd.to_numeric(variants.get("effect_log2", pd.Series(dtype=float)), errors="coerce")
    return not np.isfinite(effect.to_numpy(dtype=float)).any()


def locus_of(variants: pd.DataFrame) -> pd.Series:
    """The locus of each variant: ``locus_id``, else ``block_id``, else the dataset.

    Parameters
    ----------
    variants : pandas.DataFrame, n rows
        A variants table (column ``dataset`` at least).

    Returns
    -------
    pandas.Series of str, shape (n,)
    """
    for col in (LOCUS, BLOCK):
        if col in variants.columns:
            return variants[col].astype(str)
    return variants["dataset"].astype(str)


def rank_variants(variants: pd.DataFrame, scores: pd.DataFrame, ranking: str = DEFAULT_RANKING) -> pd.DataFrame:
    """Per locus and model, the rank of every variant; across models, the consensus rank.

    Parameters
    ----------
    variants : pandas.DataFrame, n rows
        Variants of one or more datasets (prepare-variants' table: variant_id, dataset, chrom,
        pos, ref, alt; optional locus columns, variant_class).
    scores : pandas.DataFrame, m rows
        Score table rows (variant_id, model, score); rows naming other variants are ignored.
    ranking : str
        A name of ``metrics.LD_RANKINGS`` (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        ``RANKED_COLUMNS``, one row per (variant, model) scored, sorted by dataset, locus,
        consensus rank, variant and model. ``rank``, ``lead_rank``, ``mean_rank``,
        ``rank_spread`` and ``consensus_rank`` are empty (NaN) where undefined.
    """
    require_columns(variants, ["variant_id", "dataset", *POSITION_COLUMNS], "variants table")
    require_columns(scores, ["variant_id", "model", "score"], "score table")
    v = variants.copy()
    v[LOCUS] = locus_of(v).to_numpy()
    v["chrom"] = v["chrom"].astype(str)
    v[SNP_ID] = v[SNP_ID].fillna("").astype(str) if SNP_ID in v.columns else ""
    v[LEAD] = v[LEAD].fillna(0).astype(np.int64) if LEAD in v.columns else 0
    v[R2] = pd.to_numeric(v[R2], errors="coerce") if R2 in v.columns else np.nan
    if "variant_class" not in v.columns:
        v["variant_class"] = ""
    keep = ["dataset", LOCUS, "variant_id", SNP_ID, *POSITION_COLUMNS, "variant_class", LEAD, R2]
    df = scores[["variant_id", "model", "score"]].merge(v[keep], on="variant_id", how="inner")
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype(float)
    finite = np.isfinite(df["score"].to_numpy())
    df["_key"] = np.where(finite, metrics.ranking_key(df["score"].to_numpy(), ranking), np.nan)
    by_model = df.groupby(["dataset", LOCUS, "model"], sort=False)
    df["rank"] = by_model["_key"].rank(method="max", ascending=False)
    df["n_ranked"] = by_model["_key"].transform("count").astype(np.int64)
    lead_ranks = df[df[LEAD] == 1].groupby(["dataset", LOCUS, "model"])["rank"].min().rename("lead_rank")
    df = df.merge(lead_ranks, on=["dataset", LOCUS, "model"], how="left")
    per_variant = df.groupby("variant_id")["rank"]
    df["mean_rank"] = per_variant.transform("mean")
    df["rank_spread"] = per_variant.transform("max") - per_variant.transform("min")
    df["n_models"] = per_variant.transform("count").astype(np.int64)
    consensus = df.drop_duplicates("variant_id")
    consensus = consensus.assign(consensus_rank=consensus.groupby(["dataset", LOCUS])["mean_rank"]
                                 .rank(method="max", ascending=True))
    df = df.merge(consensus[["variant_id", "consensus_rank"]], on="variant_id", how="left")
    df = df.sort_values(["dataset", LOCUS, "consensus_rank", "variant_id", "model"], na_position="last",
                        ignore_index=True)
    return df[RANKED_COLUMNS]


def top_candidates(ranked: pd.DataFrame, top: int = DEFAULT_TOP) -> pd.DataFrame:
    """The ``top`` best variants of each locus by consensus rank: the table a report shows.

    Parameters
    ----------
    ranked : pandas.DataFrame
        From :func:`rank_variants`.
    top : int
        Variants per locus (fewer where a locus has fewer ranked variants).

    Returns
    -------
    pandas.DataFrame
        ``TOP_COLUMNS``, one row per variant, by dataset, locus and consensus rank;
        ``n_variants`` counts the locus' ranked variants, ``lead_consensus_rank`` is the lead's
        consensus rank (empty without a lead).
    """
    per_variant = ranked.drop_duplicates("variant_id").dropna(subset=["consensus_rank"])
    groups = per_variant.groupby(["dataset", LOCUS], sort=False)
    lead = per_variant[per_variant[LEAD] == 1].groupby(["dataset", LOCUS])["consensus_rank"].min()
    out = per_variant.assign(n_variants=groups["variant_id"].transform("count").astype(np.int64))
    out = out.merge(lead.rename("lead_consensus_rank"), on=["dataset", LOCUS], how="left")
    out = out.sort_values(["dataset", LOCUS, "consensus_rank", "mean_rank", "pos", "variant_id"], ignore_index=True)
    return out.groupby(["dataset", LOCUS], sort=False).head(top)[TOP_COLUMNS].reset_index(drop=True)


def info_keys(models) -> dict[str, str]:
    """The VCF INFO key of each model's score: ``RVB_<model>``, other characters as ``_``.

    Parameters
    ----------
    models : iterable of str

    Returns
    -------
    dict of str to str
        model -> key; InputError when two models map to one key.
    """
    keys: dict[str, str] = {}
    for model in sorted(set(models)):
        key = INFO_PREFIX + _INFO_KEY.sub("_", str(model))
        if key in keys.values():
            other = next(m for m, k in keys.items() if k == key)
            raise InputError(f"models {other!r} and {model!r} would share the VCF INFO key {key}; rename one")
        keys[model] = key
    return keys


def write_scores_vcf(ranked: pd.DataFrame, path: str | Path, ranking: str = DEFAULT_RANKING) -> Path:
    """The variants with every model's score as INFO fields: bgzipped VCF plus tabix index.

    Parameters
    ----------
    ranked : pandas.DataFrame
        From :func:`rank_variants` (one dataset or several).
    path : path-like
        Output ``.vcf.gz``; its index is written to ``<path>.tbi``.
    ranking : str
        Named in the header (``##regvarbench_ranking``).

    Returns
    -------
    pathlib.Path
        ``path``. Records are sorted by contig (as a string) and position; the ID is the SNP's
        ID where the source gives one, else the variant_id.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = info_keys(ranked["model"])
    header = pysam.VariantHeader()
    header.add_line(f"##source=regvarbench rank (ranking {ranking})")
    for chrom in sorted(ranked["chrom"].astype(str).unique()):
        header.contigs.add(chrom)
    for model, key in keys.items():
        header.info.add(key, 1, "Float", f"Variant score of model {model} (alt vs ref, as in its score table, 6 significant digits); "
                                         f"absent where the model gave no finite score")
    header.info.add("RVB_VARIANT", 1, "String", "regvarbench variant_id (<dataset>:<row>[:<allele>])")
    header.info.add("RVB_LOCUS", 1, "String", "Locus: lead SNP of the LD export, LD block, or the dataset")
    header.info.add("RVB_LEAD", 0, "Flag", "The locus' lead SNP")
    header.info.add("RVB_CONSENSUS_RANK", 1, "Float",
                    f"Rank within the locus by the mean of the models' ranks (1 = top; ranking {ranking})")
    per_variant = ranked.drop_duplicates("variant_id").assign(chrom=lambda d: d["chrom"].astype(str))
    per_variant = per_variant.sort_values(["chrom", "pos", "variant_id"], ignore_index=True)
    scores = ranked.pivot_table(index="variant_id", columns="model", values="score", aggfunc="first", dropna=False)
    with pysam.VariantFile(str(path), "wz", header=header) as out:
        for row in tqdm(per_variant.itertuples(index=False), total=len(per_variant), desc=f"VCF {path.name}",
                        unit="variant", disable=len(per_variant) < 10_000):
            vid = getattr(row, SNP_ID)
            rec = out.new_record(contig=row.chrom, start=int(row.pos) - 1, alleles=(row.ref, row.alt),
                                 id=vid if vid not in ("", ".") else row.variant_id)
            rec.info["RVB_VARIANT"] = row.variant_id
            rec.info["RVB_LOCUS"] = str(getattr(row, LOCUS))
            if getattr(row, LEAD) == 1:
                rec.info["RVB_LEAD"] = True
            if np.isfinite(row.consensus_rank):
                rec.info["RVB_CONSENSUS_RANK"] = float(row.consensus_rank)
            for model, key in keys.items():
                value = scores.at[row.variant_id, model] if model in scores.columns else np.nan
                if np.isfinite(value):
                    rec.info[key] = float(value)
            out.write(rec)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path
