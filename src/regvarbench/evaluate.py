"""Subcommand ``evaluate``: gather variant tables, model scores and training outputs into the
benchmark's metric tables (``DIR/tables/*.tsv`` and ``DIR/tables/evaluation.json``).

Scores join variants on ``variant_id``. Every variant of a dataset that a model scored must have
a score from that model; the ones without (or with a non-finite score) are listed in
``unscored.tsv`` rather than silently dropped. Rows inside each group are ordered by
(dataset, variant_id) before bootstrapping, so tables are byte-identical for the same inputs
whatever order the files arrive in.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import __version__, metrics
from .contracts import DETECTION_COLUMNS, EVALUATED_SCORE_COLUMNS, ONESHOT_SUFFIX
from .io import InputError, read_table, read_tsv, require_columns, write_tsv
from .provenance import describe_files, provenance_table

log = logging.getLogger(__name__)

VARIANT_COLUMNS = ["variant_id", "dataset", "cell_line", "effect_log2", "pvalue"]
CATALOGUE_COLUMNS = ["model", "family", "architecture_class"]
LD_COLUMNS = ["block_id", "is_causal"]
SCORED_COLUMNS = ["model", "variant_id", "dataset", "cell_line", "effect_log2", "pvalue", "score"]
OVERALL = "all"
LEVELS = {"dataset": "dataset", "cell_line": "cell_line", "overall": None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", nargs="+", required=True, metavar="TSV",
                        help="variants tables from prepare-variants (one per dataset)")
    parser.add_argument("--scores", nargs="+", required=True, metavar="TSV",
                        help="scores tables from score (chunks of one model x dataset concatenate)")
    parser.add_argument("--training", nargs="*", default=[], metavar="TSV",
                        help="enhancer_detection.tsv files from train")
    parser.add_argument("--catalogue", metavar="CSV",
                        help="model catalogue with columns model, family, architecture_class")
    parser.add_argument("--inputs", nargs="*", default=[], metavar="FILE",
                        help="files the run read (samplesheets, variant sources, peaks, genome): their sha256 "
                        "go to provenance.tsv")
    parser.add_argument("--model-dirs", nargs="*", default=[], metavar="DIR",
                        help="model directories scored with: revision and sha256 of their files to provenance.tsv")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="bootstrap resamples for 95%% percentile intervals (0 = none; default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--outdir", required=True, help="output directory; tables go to OUTDIR/tables")


def run(args: argparse.Namespace) -> None:
    if args.bootstrap < 0:
        raise InputError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    tables = evaluate(args.variants, args.scores, args.training or [], args.catalogue,
                      n_boot=args.bootstrap, seed=args.seed, inputs=args.inputs, model_dirs=args.model_dirs)
    write_evaluation(tables, Path(args.outdir) / "tables")


# ---------------------------------------------------------------- reading


def read_variants(paths) -> tuple[pd.DataFrame, list[str]]:
    """Concatenate variants tables; returns (variants, names of LD-block datasets).

    A table is an LD-block dataset when it carries block_id and is_causal columns.

    Parameters
    ----------
    paths : iterable of path-like
        Variants tables from prepare-variants, with at least the columns of ``VARIANT_COLUMNS``.

    Returns
    -------
    variants : pandas.DataFrame
        All rows, ``effect_log2`` and ``pvalue`` as float, sorted by dataset and variant_id; LD-block
        tables add ``block_id`` (str) and ``is_causal`` (bool).
    ld_datasets : list of str
        The LD-block datasets, sorted.

    Raises
    ------
    InputError
        If a column is missing or unreadable, ``is_causal`` is not boolean, or a variant_id occurs
        in more than one row.
    """
    frames, ld_datasets = [], []
    for path in paths:
        df = read_tsv(path, dtype={"variant_id": str, "dataset": str, "cell_line": str})
        require_columns(df, VARIANT_COLUMNS, path)
        df = _coerce_float(df, ["effect_log2", "pvalue"], path)
        if all(c in df.columns for c in LD_COLUMNS):
            try:
                df = df.assign(is_causal=metrics.parse_bool(df["is_causal"].fillna("0")),
                               block_id=df["block_id"].astype(str))
            except ValueError as exc:
                raise InputError(f"{path}: column 'is_causal': {exc}") from exc
            ld_datasets.extend(sorted(df["dataset"].unique()))
        frames.append(df)
    variants = pd.concat(frames, ignore_index=True)
    dup = variants["variant_id"][variants["variant_id"].duplicated()]
    if len(dup):
        raise InputError(f"variant_id not unique across --variants tables: {', '.join(dup.unique()[:5])}")
    return variants.sort_values(["dataset", "variant_id"], ignore_index=True), sorted(set(ld_datasets))


def read_scores(paths) -> pd.DataFrame:
    """Concatenate score tables (chunks of one model x dataset simply stack).

    Parameters
    ----------
    paths : iterable of path-like
        Score tables with at least the columns of ``contracts.EVALUATED_SCORE_COLUMNS``.

    Returns
    -------
    pandas.DataFrame
        Every row, in input order, ``score`` as float.

    Raises
    ------
    InputError
        If a column is missing or unreadable, or a model scored a variant twice.
    """
    frames = []
    for path in paths:
        df = read_tsv(path, dtype={"variant_id": str, "dataset": str, "model": str})
        require_columns(df, EVALUATED_SCORE_COLUMNS, path)
        frames.append(_coerce_float(df, ["score"], path))
    scores = pd.concat(frames, ignore_index=True)
    dup = scores.duplicated(["model", "variant_id"])
    if dup.any():
        first = scores.loc[dup, ["model", "variant_id"]].head(5)
        raise InputError("the same model scored a variant twice (overlapping --scores chunks?): "
                         + ", ".join(f"{m}/{v}" for m, v in first.itertuples(index=False)))
    return scores


def read_training(paths) -> pd.DataFrame:
    """Concatenate enhancer-detection tables from train (empty table if none).

    Parameters
    ----------
    paths : iterable of path-like
        ``enhancer_detection.tsv`` files.

    Returns
    -------
    pandas.DataFrame
        ``contracts.DETECTION_COLUMNS``, sorted by model, cell_line and split.
    """
    frames = []
    for path in paths:
        df = read_tsv(path, dtype={"model": str, "cell_line": str, "split": str})
        require_columns(df, DETECTION_COLUMNS, path)
        frames.append(df[DETECTION_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=DETECTION_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values(["model", "cell_line", "split"], ignore_index=True)


def read_catalogue(path, models) -> pd.DataFrame:
    """Family and architecture class per scored model; 'unknown' where the catalogue is silent.

    A scored name finds its catalogue row by the row's ``model``, else by one of its ``aliases``
    (';'-separated, e.g. the study's names in its published predictions), else, for
    ``<name>_oneshot``, by the row of ``<name>`` (name or alias). This is the one place where names
    meet catalogue rows.

    Parameters
    ----------
    path : path-like or None
        Catalogue CSV with columns model, family, architecture_class (optional aliases, pair_of).
    models : iterable of str
        Model names as they appear in the score tables.

    Returns
    -------
    pandas.DataFrame with columns model, family, architecture_class, one row per model, sorted.
    """
    meta = pd.DataFrame({"model": sorted(models)})
    if path is None:
        return meta.assign(family="unknown", architecture_class="unknown")
    cat = read_table(path, sep=",", dtype=str, keep_default_na=False).fillna("")
    require_columns(cat, CATALOGUE_COLUMNS, path)
    if cat["model"].duplicated().any():
        raise InputError(f"{path}: model named twice: {', '.join(cat['model'][cat['model'].duplicated()])}")
    rows = catalogue_names(cat, path)

    def row_of(name: str) -> str | None:
        if name in rows:
            return rows[name]
        base = name[:-len(ONESHOT_SUFFIX)] if name.endswith(ONESHOT_SUFFIX) else None
        return rows.get(base) if base else None

    meta["_key"] = [row_of(m) or m for m in meta["model"]]
    meta = meta.merge(cat[CATALOGUE_COLUMNS].rename(columns={"model": "_key"}), on="_key", how="left")
    return meta.drop(columns="_key").fillna("unknown").replace("", "unknown")


def catalogue_names(cat: pd.DataFrame, path) -> dict[str, str]:
    """Every name of a catalogue row (its model and its ``aliases``) -> the row's model.

    Parameters
    ----------
    cat : pandas.DataFrame
        The catalogue as strings (column ``model``, optional ``aliases``).
    path : path-like
        Named in errors.

    Returns
    -------
    dict of str to str; InputError when an alias repeats or equals a model name.
    """
    names = {m: m for m in cat["model"]}
    if "aliases" not in cat.columns:
        return names
    for line, (model, cell) in enumerate(zip(cat["model"], cat["aliases"]), start=2):
        for alias in filter(None, (a.strip() for a in cell.split(";"))):
            if alias in names:
                clash = "a model name" if alias in set(cat["model"]) else f"an alias of {names[alias]!r}"
                raise InputError(f"{path}, line {line}: alias {alias!r} of {model!r} is already {clash}")
            names[alias] = model
    return names


def _coerce_float(df: pd.DataFrame, columns, path) -> pd.DataFrame:
    """Columns as floats; a non-numeric cell is an input error naming file, column and value."""
    out = {}
    for col in columns:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            raise InputError(f"{path}: column {col!r} is not numeric, e.g. {df[col][bad].iloc[0]!r}")
        out[col] = values.astype(float)
    return df.assign(**out)


# ---------------------------------------------------------------- joining


def join_scores(variants: pd.DataFrame, scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Attach variant annotations to scores and account for every variant.

    Returns (scored, unscored, counts): scored has one row per (model, variant) in SCORED_COLUMNS
    order plus LD columns; unscored lists (model, variant_id, reason) with reason 'no_score' for
    variants of a dataset the model scored but not this variant, 'non_finite_score' for NaN/inf.
    """
    keep = [c for c in ["variant_id", "dataset", "cell_line", "effect_log2", "pvalue", *LD_COLUMNS]
            if c in variants.columns]
    joined = scores[["model", "variant_id", "dataset", "score"]].merge(
        variants[keep], on="variant_id", how="left", suffixes=("_score", ""), indicator=True)
    orphans = joined["_merge"] == "left_only"
    if orphans.any():
        log.warning("%d scores name a variant_id absent from the variants tables (e.g. %s); ignored",
                    orphans.sum(), joined.loc[orphans, "variant_id"].iloc[0])
    joined = joined[~orphans].drop(columns="_merge")
    clash = joined["dataset_score"] != joined["dataset"]
    if clash.any():
        row = joined[clash].iloc[0]
        raise InputError(f"scores say variant {row['variant_id']} is in dataset {row['dataset_score']!r}, "
                         f"the variants tables say {row['dataset']!r}")
    scored = joined.drop(columns="dataset_score").sort_values(["model", "dataset", "variant_id"], ignore_index=True)
    scored = scored[SCORED_COLUMNS + [c for c in LD_COLUMNS if c in scored.columns]]

    unscored, pairs = [], []
    by_dataset = dict(tuple(variants.groupby("dataset", sort=True)["variant_id"]))
    for (model, dataset), got in scored.groupby(["model", "dataset"], sort=True):
        missing = sorted(set(by_dataset[dataset]) - set(got["variant_id"]))
        non_finite = got.loc[~np.isfinite(got["score"]), "variant_id"].tolist()
        unscored += [(model, v, "no_score") for v in missing] + [(model, v, "non_finite_score") for v in non_finite]
        pairs.append({"model": model, "dataset": dataset, "variants": int(len(by_dataset[dataset])),
                      "scored": int(len(got)), "no_score": len(missing), "non_finite_score": len(non_finite)})
        if missing:
            log.warning("%s: %d of %d variants of %s have no score", model, len(missing),
                        len(by_dataset[dataset]), dataset)
    counts = {"variants_total": int(len(variants)),
              "variants_per_dataset": {d: int(len(v)) for d, v in by_dataset.items()},
              "scores_without_variant": int(orphans.sum()),
              "per_model_dataset": pairs}
    unscored_df = pd.DataFrame(unscored, columns=["model", "variant_id", "reason"])
    return scored, unscored_df, counts


# ---------------------------------------------------------------- tables


class VectorPairCache:
    """``fn(x, y)`` per pair of float vectors, computed once per evaluate run (keyed by the
    digest of the vectors' bytes).

    Parameters
    ----------
    fn : callable
        ``fn(x, y)`` of two float vectors of one length; its result is kept and returned again.
    """

    def __init__(self, fn):
        self._fn, self._store = fn, {}

    def __call__(self, x: np.ndarray, y: np.ndarray):
        x, y = np.ascontiguousarray(x, dtype=float), np.ascontiguousarray(y, dtype=float)
        key = hashlib.sha1(x.tobytes() + b"|" + y.tobytes()).digest()
        if key not in self._store:
            self._store[key] = self._fn(x, y)
        return self._store[key]


class BootstrapCache(VectorPairCache):
    """Bootstrap replicates per (score, effect) vector pair, computed once per evaluate run.

    The correlation tables and the model comparison bootstrap the same vectors whenever a model
    scored exactly the variants a pair shares; the resamples depend only on seed and n, so the
    replicates can be reused (``metrics.bootstrap_correlations``).

    Parameters
    ----------
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the resamples.
    """

    def __init__(self, n_boot: int, seed: int):
        super().__init__(lambda x, y: metrics.bootstrap_correlations(x, y, n_boot, seed))


class CorrelationCache(VectorPairCache):
    """Pearson and Spearman r per (score, effect) vector pair, computed once per evaluate run.

    In the model comparison every model meets every other one on the variants both scored; where
    those are the same variants (the usual case) its correlation with the effect is the same
    computation, done once here (``metrics.pair_correlations``).
    """

    def __init__(self):
        super().__init__(metrics.pair_correlations)


def table_correlations(scored: pd.DataFrame, level: str, n_boot: int, seed: int,
                       replicates: BootstrapCache | None = None) -> pd.DataFrame:
    """Correlation of score with effect per model and group at one level (dataset, cell_line, overall).

    Parameters
    ----------
    scored : pandas.DataFrame
        One row per model x variant with a measured effect (columns of ``SCORED_COLUMNS``).
    level : str
        A key of ``LEVELS``: ``dataset``, ``cell_line`` or ``overall`` (group ``all``).
    n_boot : int
        Bootstrap resamples for the intervals (0 = none).
    seed : int
        Bootstrap seed.
    replicates : BootstrapCache or None, optional
        Shared bootstrap replicates (see ``BootstrapCache``).

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``group`` and ``metrics.CORRELATION_COLUMNS``, one row per model x group.
    """
    key = LEVELS[level]
    rows = []
    groups = scored.groupby(["model", key] if key else ["model"], sort=True)
    for name, g in tqdm(groups, desc=f"correlations by {level}", disable=None, leave=False):
        model, group = (name[0], name[1]) if key else (name[0], OVERALL)
        stats = metrics.correlate(g["score"].to_numpy(), g["effect_log2"].to_numpy(), n_boot=n_boot, seed=seed,
                                  replicates=replicates)
        rows.append({"model": model, "group": group, **stats})
    return pd.DataFrame(rows, columns=["model", "group", *metrics.CORRELATION_COLUMNS])


DIRECTION_COLUMNS = ["model", "group", "n_up", "n_down", "frac_up_predicted_up", "frac_down_predicted_down",
                     "balanced_accuracy", "sign_auroc", "sign_auprc", "sign_f1", "level"]


def table_direction(scored: pd.DataFrame) -> pd.DataFrame:
    """Up/down agreement per model and group, per dataset, per cell line and overall.

    Parameters
    ----------
    scored : pandas.DataFrame
        One row per model x variant with a measured effect (columns of ``SCORED_COLUMNS``).

    Returns
    -------
    pandas.DataFrame
        ``DIRECTION_COLUMNS``, one row per model x group; ``level`` is dataset, cell_line or
        overall (group ``all``), dataset rows first.
    """
    rows = []
    for level, key in LEVELS.items():
        for name, g in scored.groupby(["model", key] if key else ["model"], sort=True):
            model, group = (name[0], name[1]) if key else (name[0], OVERALL)
            rows.append({"model": model, "group": group, **metrics.direction_metrics(g["score"], g["effect_log2"]),
                         "level": level})
    return pd.DataFrame(rows, columns=DIRECTION_COLUMNS)


def table_significance(scored: pd.DataFrame) -> pd.DataFrame:
    """Agreement at rising certainty, per dataset, per cell line and overall (column ``level``).

    Parameters
    ----------
    scored : pandas.DataFrame
        One row per model x variant with a measured effect (columns of ``SCORED_COLUMNS``).

    Returns
    -------
    pandas.DataFrame
        Columns model, group, pvalue_max, n, pearson_r, spearman_r, frac_up_predicted_up,
        frac_down_predicted_down and level: rows of ``metrics.significance_rows`` per model x group;
        groups without a finite p-value are left out.
    """
    rows = []
    for level, key in LEVELS.items():
        for name, g in scored.groupby(["model", key] if key else ["model"], sort=True):
            if not np.isfinite(g["pvalue"]).any():
                continue
            model, group = (name[0], name[1]) if key else (name[0], OVERALL)
            for r in metrics.significance_rows(g["score"], g["effect_log2"], g["pvalue"]):
                rows.append({"model": model, "group": group, **r, "level": level})
    return pd.DataFrame(rows, columns=["model", "group", "pvalue_max", "n", "pearson_r", "spearman_r",
                                       "frac_up_predicted_up", "frac_down_predicted_down", "level"])


def table_ld_topk(scored: pd.DataFrame, ld_datasets) -> pd.DataFrame:
    """Causal-SNP top-k retrieval per model, LD dataset and ranking.

    Parameters
    ----------
    scored : pandas.DataFrame
        ``SCORED_COLUMNS`` plus ``block_id`` and ``is_causal`` (present when LD datasets were read).
    ld_datasets : iterable of str
        The LD-block datasets (``read_variants``); rows of other datasets are ignored.

    Returns
    -------
    pandas.DataFrame
        Columns model, group (the dataset), ranking, n_blocks, ``top<k>`` and ``random_top<k>`` for k in
        ``metrics.TOPK``; one row per model x dataset x ranking of ``metrics.LD_RANKINGS``.
    """
    cols = ["model", "group", "ranking", "n_blocks", *(f"top{k}" for k in metrics.TOPK),
            *(f"random_top{k}" for k in metrics.TOPK)]
    ld = scored[scored["dataset"].isin(ld_datasets)]
    rows = []
    for (m, d), g in ld.groupby(["model", "dataset"], sort=True):
        for ranking in metrics.LD_RANKINGS:
            rows.append({"model": m, "group": d, "ranking": ranking,
                         **metrics.ld_topk(g["block_id"], g["is_causal"].astype(bool), g["score"], ranking)})
    return pd.DataFrame(rows, columns=cols)


MODEL_COMPARISON_COLUMNS = ["model_a", "model_b", "group", "level", "n", "r_a", "r_b", "r_ab", "z", "p", "p_adj",
                            "spearman_diff", "diff_ci_low", "diff_ci_high"]
PAIR_STATS = ["n", "f1", "pearson_r", "spearman_r"]
FINETUNED_COLUMNS = ["oneshot", "finetuned", "group", "level",
                     *(f"{stat}_{role}" for stat in PAIR_STATS for role in ("oneshot", "finetuned"))]


def table_model_comparison(scored: pd.DataFrame, n_boot: int, seed: int,
                           replicates: BootstrapCache | None = None) -> pd.DataFrame:
    """Every pair of models per group, on the variants both scored: Steiger z on Pearson r and a
    paired-bootstrap interval of the Spearman difference; p_adj is Benjamini-Hochberg over the table.

    The bootstrap replicates of one (score, effect) vector pair are computed once and shared by all
    pairs that use the same variants (same seed and n -> same resamples, see metrics).

    Parameters
    ----------
    scored : pandas.DataFrame
        One row per model x variant with a measured effect (columns of ``SCORED_COLUMNS``).
    n_boot : int
        Bootstrap resamples.
    seed : int
        Bootstrap seed.
    replicates : BootstrapCache or None, optional
        Shared bootstrap replicates; a new cache without one.

    Returns
    -------
    pandas.DataFrame
        ``MODEL_COMPARISON_COLUMNS``, one row per model pair (``model_a`` < ``model_b``) x group x level
        where both scored at least one common variant.
    """
    replicates = replicates or BootstrapCache(n_boot, seed)
    correlations = CorrelationCache()
    rows = []
    wide_all = scored.pivot(index="variant_id", columns="model", values="score")
    for level, key in LEVELS.items():
        groups = scored.groupby(key, sort=True) if key else [(OVERALL, scored)]
        for group, g in groups:
            effect = g.drop_duplicates("variant_id").set_index("variant_id").sort_values(["dataset", "variant_id"])
            y = effect["effect_log2"].to_numpy(dtype=float)
            wide = wide_all.reindex(effect.index)
            models = sorted(g["model"].unique())
            columns = {m: wide[m].to_numpy(dtype=float) for m in models}
            pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
            for a, b in tqdm(pairs, desc=f"model pairs, {level} {group}", disable=None, leave=False):
                both = ~np.isnan(columns[a]) & ~np.isnan(columns[b])
                if not both.any():
                    continue
                stats = metrics.compare_correlations(columns[a][both], columns[b][both], y[both], n_boot, seed,
                                                     replicates=replicates, correlations=correlations)
                rows.append({"model_a": a, "model_b": b, "group": str(group), "level": level, **stats})
    table = pd.DataFrame(rows, columns=[c for c in MODEL_COMPARISON_COLUMNS if c != "p_adj"])
    table.insert(MODEL_COMPARISON_COLUMNS.index("p_adj"), "p_adj", metrics.adjust_pvalues(table["p"]))
    return table


def read_pairs(path, models) -> list[tuple[str, str]]:
    """(one-shot, fine-tuned) model pairs: ``<model>_oneshot`` with ``<model>`` when both were
    scored, plus the catalogue's optional ``pair_of`` column (one-shot model -> fine-tuned one).

    Parameters
    ----------
    path : path-like or None
        Catalogue CSV (optional column ``pair_of``), or None.
    models : iterable of str
        The scored model names.

    Returns
    -------
    list of (str, str)
        Sorted (one-shot, fine-tuned) pairs, without duplicates.

    Raises
    ------
    InputError
        If ``pair_of`` names a model that is not in the catalogue.
    """
    scored = set(models)
    automatic = [(m, m[:-len(ONESHOT_SUFFIX)]) for m in sorted(scored)
                 if m.endswith(ONESHOT_SUFFIX) and m[:-len(ONESHOT_SUFFIX)] in scored]
    if path is None:
        return automatic
    cat = read_table(path, sep=",", dtype=str, keep_default_na=False).fillna("")
    if "pair_of" not in cat.columns:
        return automatic
    require_columns(cat, ["model"], path)
    pairs = [(m.strip(), p.strip()) for m, p in zip(cat["model"], cat["pair_of"]) if p.strip()]
    unknown = sorted({p for _, p in pairs} - set(cat["model"]))
    if unknown:
        raise InputError(f"{path}: column 'pair_of' names model(s) not in the catalogue: {', '.join(unknown)}")
    unscored = sorted({m for pair in pairs for m in pair} - set(models))
    if unscored:
        log.warning("catalogue pairs models without scores in this run: %s", ", ".join(unscored))
    return sorted(set(pairs) | set(automatic))


def table_finetuned_vs_oneshot(pairs, correlations: dict[str, pd.DataFrame], training: pd.DataFrame,
                               dataset_cells: dict[str, str]) -> pd.DataFrame:
    """One row per (one-shot, fine-tuned) pair and group with n, F1, Pearson and Spearman r of each.

    F1 is enhancer detection on the test split (valid where there is no test row) of the group's
    cell line; for a dataset, its cell line; overall, the mean over the model's cell lines.

    Parameters
    ----------
    pairs : list of (str, str)
        (one-shot, fine-tuned) model pairs, as from ``read_pairs``.
    correlations : dict of str -> pandas.DataFrame
        Per level of ``LEVELS``, the correlation table (``model``, ``group``, n, pearson_r, spearman_r, ...).
    training : pandas.DataFrame
        Enhancer-detection rows (``contracts.DETECTION_COLUMNS``).
    dataset_cells : dict of str -> str
        Dataset -> its cell line.

    Returns
    -------
    pandas.DataFrame
        ``FINETUNED_COLUMNS`` (``n_oneshot`` and ``n_finetuned`` as Int64); one row per pair, level and
        group where either model has a correlation.
    """
    if not pairs:
        return pd.DataFrame(columns=FINETUNED_COLUMNS)
    split_rank = training["split"].map({"test": 0, "valid": 1}).fillna(2)
    best = (training.assign(rank=split_rank).sort_values(["model", "cell_line", "rank"])
            .drop_duplicates(["model", "cell_line"]).set_index(["model", "cell_line"])["f1"].astype(float))

    def f1(model: str, level: str, group: str) -> float:
        if level == "overall":
            values = best[best.index.get_level_values("model") == model]
            return float(values.mean()) if len(values) else float("nan")
        cell = dataset_cells.get(group) if level == "dataset" else group
        return float(best.get((model, cell), float("nan")))

    rows = []
    for level in LEVELS:
        corr = correlations[level].set_index(["model", "group"])
        groups = sorted(set(corr.index.get_level_values("group")))
        for oneshot, finetuned in pairs:
            for group in groups:
                if (oneshot, group) not in corr.index and (finetuned, group) not in corr.index:
                    continue
                row = {"oneshot": oneshot, "finetuned": finetuned, "group": group, "level": level}
                for stat in PAIR_STATS:
                    for role, model in (("oneshot", oneshot), ("finetuned", finetuned)):
                        if stat == "f1":
                            value = f1(model, level, group)
                        else:
                            value = corr[stat].get((model, group), float("nan"))
                        row[f"{stat}_{role}"] = value
                rows.append(row)
    table = pd.DataFrame(rows, columns=FINETUNED_COLUMNS)
    return table.astype({"n_oneshot": "Int64", "n_finetuned": "Int64"})


def evaluate(variant_paths, score_paths, training_paths=(), catalogue=None,
             n_boot: int = 1000, seed: int = 0, inputs=(), model_dirs=()) -> dict:
    """All evaluation tables as a dict of name -> DataFrame, plus 'evaluation' -> dict for JSON.

    ``inputs`` (files the run read) and ``model_dirs`` (the model directories scored with) make the
    ``provenance`` table (regvarbench.provenance): sha256 of every file, each model's revision.

    Parameters
    ----------
    variant_paths : iterable of path-like
        Variants tables (``read_variants``).
    score_paths : iterable of path-like
        Score tables (``read_scores``).
    training_paths : iterable of path-like, optional
        ``enhancer_detection.tsv`` files (``read_training``).
    catalogue : path-like or None, optional
        Model catalogue CSV (``read_catalogue``, ``read_pairs``).
    n_boot : int, optional
        Bootstrap resamples.
    seed : int, optional
        Bootstrap seed.
    inputs : iterable of path-like, optional
        Other files the run read.
    model_dirs : iterable of path-like, optional
        Model directories scored with.

    Returns
    -------
    dict
        Table name (correlation_by_dataset, correlation_by_cell_line, correlation_overall, direction,
        significance_bins, ld_topk, enhancer_detection, model_comparison, finetuned_vs_oneshot,
        unscored, scored_variants, models, provenance) -> pandas.DataFrame, and ``evaluation`` -> dict
        (the run record for evaluation.json).
    """
    variants, ld_datasets = read_variants(variant_paths)
    scores = read_scores(score_paths)
    scored, unscored, counts = join_scores(variants, scores)
    models = read_catalogue(catalogue, scored["model"].unique())
    # datasets with no measured effect at all (LD blocks) stay out of every correlation table
    effect_datasets = sorted(variants.loc[np.isfinite(variants["effect_log2"]), "dataset"].unique())
    with_effect = scored[scored["dataset"].isin(effect_datasets)]
    tables = {}
    replicates = BootstrapCache(n_boot, seed)
    for level in LEVELS:
        corr = table_correlations(with_effect, level, n_boot, seed, replicates)
        tables[f"correlation_by_{level}" if level != "overall" else "correlation_overall"] = \
            corr.merge(models, on="model", how="left")
    tables["direction"] = table_direction(with_effect)
    tables["significance_bins"] = table_significance(with_effect)
    tables["ld_topk"] = table_ld_topk(scored, ld_datasets)
    tables["enhancer_detection"] = read_training(training_paths)
    tables["model_comparison"] = table_model_comparison(with_effect, n_boot, seed, replicates)
    correlations = {level: tables[f"correlation_by_{level}" if level != "overall" else "correlation_overall"]
                    for level in LEVELS}
    dataset_cells = dict(variants.drop_duplicates("dataset")[["dataset", "cell_line"]].itertuples(index=False))
    tables["finetuned_vs_oneshot"] = table_finetuned_vs_oneshot(
        read_pairs(catalogue, scored["model"].unique()), correlations, tables["enhancer_detection"], dataset_cells)
    tables["unscored"] = unscored
    tables["scored_variants"] = scored[SCORED_COLUMNS]
    tables["models"] = models
    tables["provenance"] = provenance_table([*inputs, *([catalogue] if catalogue else [])], model_dirs)
    tables["evaluation"] = {
        "regvarbench_version": __version__,
        "seed": seed,
        "bootstrap": n_boot,
        "ci": "95% percentile bootstrap over paired resamples",
        "inputs": {"variants": describe_files(variant_paths), "scores": describe_files(score_paths),
                   "training": describe_files(training_paths),
                   "catalogue": describe_files([catalogue] if catalogue else [])},
        "datasets": {"with_effect": effect_datasets, "ld_blocks": ld_datasets},
        "models": sorted(models["model"]),
        "counts": counts,
        "definitions": {
            "direction": "up = effect_log2 > 0, down < 0 (0 left out); predicted up = score > 0, down = score < 0; "
                         "per dataset, cell line (datasets pooled) and overall (column level)",
            "significance_bins": "variants with pvalue <= pvalue_max",
            "ld_topk": "pos_score ranks the highest score first (the study's ranking), neg_score the most "
                       "negative score, abs_score the largest |score|; "
                       "ties rank the causal SNP after its tied partners; random_topk = mean of min(k, m)/m",
            "model_comparison": "pairs of models on the variants both scored: Steiger (1980) z in the "
                                "Meng-Rosenthal-Rubin (1992) form on Pearson r (z > 0: model_a higher), "
                                "p_adj Benjamini-Hochberg over the table; spearman_diff = rho_a - rho_b "
                                "with a paired percentile bootstrap interval",
            "finetuned_vs_oneshot": "catalogue pair_of: one-shot model -> its fine-tuned counterpart; f1 from "
                                    "enhancer_detection (test split, else valid) of the group's cell line, "
                                    "overall = mean over cell lines",
            "pooling": "cell_line groups pool the model's scored datasets of that cell line; overall pools all",
        },
    }
    return tables


def write_evaluation(tables: dict, outdir: Path) -> None:
    """Write every table as TSV and the run record as evaluation.json under outdir.

    Parameters
    ----------
    tables : dict
        As from ``evaluate``: name -> pandas.DataFrame (written to ``<name>.tsv``) and ``evaluation``
        -> dict.
    outdir : pathlib.Path
        Output folder; created if missing.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    for name, value in tables.items():
        if name == "evaluation":
            (outdir / "evaluation.json").write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
        else:
            write_tsv(value, outdir / f"{name}.tsv")
    log.info("wrote %d tables to %s", len(tables), outdir)
