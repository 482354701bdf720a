"""Subcommand ``import-predictions``: external per-variant predictions -> our score tables.

Input: the study's prediction tables (one row per source data row and model; columns
``dataset, row, chrom, pos, ref, alt, model, kind, ref_0, ref_1, alt_0, alt_1, score, ref_p, alt_p``).
Output: one ``<model>.<dataset>.external.scores.tsv`` per model x dataset (the ``score`` contract),
so evaluate treats external models like ours. Per ``kind``:

- ``logits2``: two-class logits; ref_output = sigmoid(ref_1 - ref_0), alt_output likewise;
- ``prob``: ref_output = ref_p, alt_output = alt_p;
  for both, the score follows ``--score`` (``regvarbench.score_kinds``): ``study`` (default, the
  study's log2 ratio without epsilon; for logits a difference of log-sigmoids of the margins, a
  zero probability gives a non-finite score that evaluate drops and counts) or ``log2ratio_eps``;
- ``diff`` / ``log2ratio``: the given score; ref_output and alt_output stay empty.

Joining: on (dataset, row) where the prediction has a ``row`` (then chrom/pos/ref/alt must agree,
chrom compared without a ``chr`` prefix), else on (dataset, chrom, pos, ref, alt); a key shared by
several variants gives each of them the prediction (it depends only on the sequence). Prediction
dataset names must equal a variants table's dataset or be renamed with ``--dataset-map OLD=NEW``.
Nothing is dropped silently: unmatched prediction rows and variants without a prediction go to
``import_report.tsv`` with the reason.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .alleles import classify
from .contracts import IMPORT_REPORT_COLUMNS, IMPORT_REPORT_FILE, SCORE_COLUMNS, scores_file_name
from .io import InputError, read_tsv, require_columns, write_tsv
from .score_kinds import LOG2RATIO_EPS, STUDY, logits_score, sigmoid, variant_score

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ["dataset", "chrom", "pos", "ref", "alt", "model", "kind"]
AUTO_KIND = "auto"  # --kind: the file's own kind column
VALUE_COLUMNS = {"logits2": ["ref_0", "ref_1", "alt_0", "alt_1"], "prob": ["ref_p", "alt_p"],
                 "diff": ["score"], "log2ratio": ["score"]}
VARIANT_COLUMNS = ["variant_id", "dataset", "chrom", "pos", "ref", "alt", "row"]
REPORT_COLUMNS = IMPORT_REPORT_COLUMNS
KEY = ["chrom_key", "pos", "ref", "alt"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_MAX_INTEGER = 2 ** 53  # larger floats do not hold every integer
SCORE_CHOICES = (STUDY, LOG2RATIO_EPS)  # definitions of regvarbench.score_kinds for logits and probabilities


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predictions", nargs="+", required=True, metavar="FILE",
                        help="prediction tables (TSV, plain or gzipped)")
    parser.add_argument("--variants", nargs="+", required=True, metavar="TSV",
                        help="variants tables from prepare-variants")
    parser.add_argument("--dataset-map", nargs="+", default=[], metavar="OLD=NEW",
                        help="rename prediction datasets to variants-table datasets, "
                             "e.g. hepg2.sign.id.LP190708=hepg2_raqtl")
    parser.add_argument("--model", metavar="NAME",
                        help="import only this model's rows (a file without a model column: all its rows, "
                             "named NAME); default every model of the files")
    parser.add_argument("--kind", choices=[AUTO_KIND, *VALUE_COLUMNS], default=AUTO_KIND,
                        help="kind of every row of a file without a kind column (default auto: the column)")
    parser.add_argument("--score", choices=SCORE_CHOICES, default=STUDY,
                        help="score of logits2 and prob predictions: study (default; log2 ratio, no epsilon) "
                             "or log2ratio_eps (eps = 1e-6 added to both probabilities)")
    parser.add_argument("--outdir", required=True, help="writes the score tables and import_report.tsv here")


def run(args: argparse.Namespace) -> None:
    dataset_map = parse_dataset_map(args.dataset_map)
    variants = read_variants(args.variants)
    scores, report = import_predictions(args.predictions, variants, dataset_map, score=args.score,
                                        model=args.model, kind=args.kind)
    outdir = Path(args.outdir)
    for (model, dataset), table in scores.items():
        write_tsv(table, outdir / scores_file_name(model, dataset, "external"))
    write_tsv(report, outdir / IMPORT_REPORT_FILE)
    log.info("wrote %d score tables and %s (%d rows)", len(scores), outdir / IMPORT_REPORT_FILE, len(report))


def parse_dataset_map(pairs) -> dict[str, str]:
    """``OLD=NEW`` strings -> dict; InputError for a malformed or repeated OLD.

    Parameters
    ----------
    pairs : iterable of str
        The --dataset-map values.

    Returns
    -------
    dict of str to str
        OLD -> NEW, both stripped.

    Raises
    ------
    InputError
        For a pair without ``=`` or with an empty side, or an OLD given twice.
    """
    out: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InputError(f"--dataset-map {pair!r}: expected OLD=NEW")
        if old.strip() in out:
            raise InputError(f"--dataset-map: {old.strip()!r} mapped twice")
        out[old.strip()] = new.strip()
    return out


def chrom_key(chrom: pd.Series) -> pd.Series:
    """Contig name without a ``chr`` prefix (any case), so chr1 and 1 compare equal.

    Parameters
    ----------
    chrom : pandas.Series
        Contig names.

    Returns
    -------
    pandas.Series of str
    """
    return chrom.astype(str).str.strip().str.replace(r"^chr", "", case=False, regex=True)


def read_variants(paths) -> pd.DataFrame:
    """Concatenated variants tables with a harmonised contig key.

    Parameters
    ----------
    paths : iterable of path-like
        Prepared variants tables.

    Returns
    -------
    pandas.DataFrame
        The columns of ``VARIANT_COLUMNS`` (``pos`` and ``row`` int64) plus ``chrom_key`` (``chrom_key``).

    Raises
    ------
    InputError
        For a missing column or a ``variant_id`` in more than one row.
    """
    frames = []
    for path in paths:
        df = read_tsv(path, dtype={"variant_id": str, "dataset": str, "chrom": str, "ref": str, "alt": str})
        require_columns(df, VARIANT_COLUMNS, path)
        frames.append(df[VARIANT_COLUMNS])
    variants = pd.concat(frames, ignore_index=True)
    if variants["variant_id"].duplicated().any():
        dup = variants["variant_id"][variants["variant_id"].duplicated()].iloc[0]
        raise InputError(f"variant_id {dup!r} appears in more than one --variants row")
    variants["pos"] = variants["pos"].astype("int64")
    variants["row"] = variants["row"].astype("int64")
    return variants.assign(chrom_key=chrom_key(variants["chrom"]))


def read_predictions(path, dataset_map: dict[str, str], model: str | None = None,
                     kind: str = AUTO_KIND) -> pd.DataFrame:
    """One prediction table with numeric value columns, its source line and the mapped dataset.

    Parameters
    ----------
    path : path-like
        Prediction table (TSV, plain or gzipped).
    dataset_map : dict of str to str
        Prediction dataset name -> variants-table dataset name.
    model : str, optional
        Keep only this model's rows; names every row of a file without a ``model`` column.
    kind : str
        ``auto`` (the file's ``kind`` column) or the kind of every row of a file without one.

    Returns
    -------
    pandas.DataFrame, one row per kept prediction line.
    """
    df = read_tsv(path, dtype={"dataset": str, "chrom": str, "ref": str, "alt": str, "model": str,
                               "kind": str})
    if "model" not in df.columns and model:
        df["model"] = model
    if "kind" not in df.columns and kind != AUTO_KIND:
        df["kind"] = kind
    elif "kind" in df.columns and kind != AUTO_KIND:
        raise InputError(f"{path}: has a 'kind' column; --kind {kind} applies to files without one (use auto)")
    require_columns(df, PREDICTION_COLUMNS, path)
    numeric = ["pos", *(["row"] if "row" in df.columns else [])]
    for col in numeric + sorted({c for cols in VALUE_COLUMNS.values() for c in cols} & set(df.columns)):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            raise InputError(f"{path}: column {col!r} is not numeric, e.g. {df[col][bad].iloc[0]!r} "
                             f"(line {int(np.flatnonzero(bad)[0]) + 2})")
        df[col] = values.astype(float)
    if df["pos"].isna().any():
        raise InputError(f"{path}: empty 'pos' on line {int(np.flatnonzero(df['pos'].isna())[0]) + 2}")
    for col in numeric:  # integers (a float column only because of empty cells): no inf, no 5.5, no 1e30
        values = df[col].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(values) & ~((np.abs(values) < _MAX_INTEGER) & (np.mod(values, 1) == 0))
            negative = (values < 0) & (col == "row")
        for mask, why in ((bad, "not a whole number"), (negative, "a negative row number")):
            if mask.any():
                i = int(np.flatnonzero(mask)[0])
                raise InputError(f"{path} line {i + 2}: column {col!r} holds {values[i]:g}, {why}")
    bad_models = sorted({m for m in df["model"].dropna().unique() if not _NAME.match(m)})
    if bad_models or df["model"].isna().any():
        raise InputError(f"{path}: model names must be letters, digits, '.', '_' or '-' "
                         f"(they name files); got {bad_models[:3] or ['<empty>']}")
    if "row" not in df.columns:
        df["row"] = np.nan
    for col in (c for cols in VALUE_COLUMNS.values() for c in cols):
        if col not in df.columns:
            df[col] = np.nan
    if model:  # after the checks, so that line numbers stay those of the file
        df = df[df["model"] == model]
        if df.empty:
            raise InputError(f"{path}: no rows of model {model!r}")
    return df.assign(source=f"{Path(path).name}:" + (df.index + 2).astype(str),
                     source_dataset=df["dataset"], dataset=df["dataset"].replace(dataset_map),
                     pos=df["pos"].astype("int64"), chrom_key=chrom_key(df["chrom"]))


def outputs_and_score(pred: pd.DataFrame, score: str = STUDY) -> pd.DataFrame:
    """ref_output, alt_output and score per prediction row from its kind's columns.

    Parameters
    ----------
    pred : pandas.DataFrame, n rows
        Prediction rows with ``kind`` and the value columns of ``VALUE_COLUMNS``.
    score : str
        Definition for logits2 and prob rows (``SCORE_CHOICES``); diff/log2ratio rows keep theirs.

    Returns
    -------
    pandas.DataFrame, n rows: ref_output, alt_output, score (float64; NaN outputs for diff rows)
    """
    kind = pred["kind"]
    ref_out = np.full(len(pred), np.nan)
    alt_out = np.full(len(pred), np.nan)
    values = np.full(len(pred), np.nan)
    logits = (kind == "logits2").to_numpy()
    ref_margin = pred["ref_1"].to_numpy()[logits] - pred["ref_0"].to_numpy()[logits]
    alt_margin = pred["alt_1"].to_numpy()[logits] - pred["alt_0"].to_numpy()[logits]
    ref_out[logits], alt_out[logits] = sigmoid(ref_margin), sigmoid(alt_margin)
    values[logits] = logits_score(ref_margin, alt_margin, score)
    prob = (kind == "prob").to_numpy()
    ref_out[prob] = pred["ref_p"].to_numpy()[prob]
    alt_out[prob] = pred["alt_p"].to_numpy()[prob]
    values[prob] = variant_score(ref_out[prob], alt_out[prob], score)
    given = ~(logits | prob)
    values[given] = pred["score"].to_numpy()[given]
    return pd.DataFrame({"ref_output": ref_out, "alt_output": alt_out, "score": values}, index=pred.index)


def import_predictions(paths, variants: pd.DataFrame, dataset_map: dict[str, str] | None = None,
                       score: str = STUDY, model: str | None = None,
                       kind: str = AUTO_KIND) -> tuple[dict[tuple[str, str], pd.DataFrame], pd.DataFrame]:
    """Score tables per (model, dataset) and the import report (every unmatched row, every gap).

    Parameters
    ----------
    paths : list of path-like
        Prediction tables (``PREDICTION_COLUMNS`` + value columns).
    variants : pandas.DataFrame
        From ``read_variants``.
    dataset_map : dict of str to str, optional
        Prediction dataset name -> variants-table dataset name.
    score : str
        Score definition of logits2 and prob rows (``SCORE_CHOICES``).
    model, kind : str, optional
        See ``read_predictions``.

    Returns
    -------
    (dict of (model, dataset) -> pandas.DataFrame in ``SCORE_COLUMNS``, pandas.DataFrame in ``REPORT_COLUMNS``)
    """
    dataset_map = dataset_map or {}
    known = set(variants["dataset"])
    unknown_targets = sorted(set(dataset_map.values()) - known)
    if unknown_targets:
        raise InputError(f"--dataset-map names dataset(s) without a variants table: {', '.join(unknown_targets)}; "
                         f"variants tables hold {', '.join(sorted(known))}")
    preds = [read_predictions(p, dataset_map, model, kind) for p in paths]
    pred = pd.concat(preds, ignore_index=True)
    unused = sorted(set(dataset_map) - set(pred["source_dataset"]))
    if unused:
        log.warning("--dataset-map: no prediction rows for %s", ", ".join(unused))
    report = []
    matched = []

    def reject(mask, reason, detail):
        if mask.any():
            sub = pred[mask]
            report.append(pd.DataFrame({"model": sub["model"], "dataset": sub["dataset"], "row": sub["row"],
                                        "reason": reason, "detail": detail if isinstance(detail, str)
                                        else detail[mask], "source": sub["source"]}))

    todo = pd.Series(True, index=pred.index)
    bad = todo & ~pred["dataset"].isin(known)
    reject(bad, "dataset_not_in_variants", "no variants table for dataset " + pred["dataset"]
           + " (rename it with --dataset-map)")
    for name in sorted(pred.loc[bad, "dataset"].unique()):
        log.warning("predictions for dataset %r match no variants table; use --dataset-map %s=<dataset>", name, name)
    todo &= ~bad
    bad = todo & ~pred["kind"].isin(list(VALUE_COLUMNS))
    reject(bad, "unknown_kind", "kind " + pred["kind"].astype(str) + " is not one of " + ", ".join(VALUE_COLUMNS))
    todo &= ~bad
    missing = pd.Series(False, index=pred.index)
    for kind, cols in VALUE_COLUMNS.items():
        missing |= (pred["kind"] == kind) & pred[cols].isna().any(axis=1)
    bad = todo & missing
    reject(bad, "missing_values", "empty value column(s) for kind " + pred["kind"].astype(str))
    todo &= ~bad

    # join on row where the prediction has one
    by_row = todo & pred["row"].notna()
    if by_row.any():
        left = pred[by_row].assign(row_int=pred.loc[by_row, "row"].astype("int64")).reset_index(names="pred_index")
        j = left.merge(variants.rename(columns={"row": "row_int"}), on=["dataset", "row_int"], how="left",
                       suffixes=("", "_v"))
        j = j.set_index("pred_index")
        absent = pd.Series(False, index=pred.index)
        absent[j.index[j["variant_id"].isna()]] = True
        reject(absent, "row_not_in_variants", "no variant with this row in its dataset (skipped by prepare-variants?)")
        j = j[j["variant_id"].notna()].astype({"pos_v": "int64"})
        agree = ((j["chrom_key"] == j["chrom_key_v"]) & (j["pos"] == j["pos_v"]) & (j["ref"] == j["ref_v"])
                 & (j["alt"] == j["alt_v"]))
        clash = pd.Series(False, index=pred.index)
        clash[j.index[~agree]] = True
        detail = pd.Series("", index=pred.index)
        detail[j.index[~agree]] = (
            "prediction " + j.loc[~agree, "chrom"] + ":" + j.loc[~agree, "pos"].astype(str) + ":" + j.loc[~agree, "ref"]
            + ">" + j.loc[~agree, "alt"] + " vs variant " + j.loc[~agree, "variant_id"] + " "
            + j.loc[~agree, "chrom_v"] + ":" + j.loc[~agree, "pos_v"].astype(str) + ":" + j.loc[~agree, "ref_v"]
            + ">" + j.loc[~agree, "alt_v"])
        reject(clash, "row_key_mismatch", detail)
        if clash.any():
            log.warning("%d prediction rows disagree with their variant on chrom/pos/ref/alt (see import_report.tsv)",
                        int(clash.sum()))
        matched.append(j.loc[agree, ["variant_id"]])
    # join on the variant key elsewhere
    by_key = todo & pred["row"].isna()
    if by_key.any():
        left = pred.loc[by_key, ["dataset", *KEY]].reset_index(names="pred_index")
        j = left.merge(variants[["dataset", *KEY, "variant_id"]], on=["dataset", *KEY], how="left")
        absent = pd.Series(False, index=pred.index)
        absent[j.loc[j["variant_id"].isna(), "pred_index"]] = True
        reject(absent, "key_not_in_variants", "no variant with this chrom/pos/ref/alt in its dataset")
        matched.append(j[j["variant_id"].notna()].set_index("pred_index")[["variant_id"]])

    hits = pd.concat(matched) if matched else pd.DataFrame(columns=["variant_id"])
    hits = hits.join(pred[["model", "dataset", "row", "source"]]).join(outputs_and_score(pred, score))
    hits = hits.rename_axis("pred_index").reset_index().sort_values("pred_index", kind="stable")
    dup = hits.duplicated(["model", "variant_id"])
    if dup.any():
        d = hits[dup]
        report.append(pd.DataFrame({"model": d["model"], "dataset": d["dataset"], "row": d["row"],
                                    "reason": "duplicate_prediction",
                                    "detail": "second prediction of " + d["model"] + " for " + d["variant_id"],
                                    "source": d["source"]}))
    hits = hits[~dup]

    order = variants.reset_index(names="variant_order")[["variant_id", "variant_order", "row"]]
    order["variant_class"] = [classify(r, a) for r, a in zip(variants["ref"], variants["alt"])]
    scores: dict[tuple[str, str], pd.DataFrame] = {}
    for (model, dataset), got in hits.groupby(["model", "dataset"], sort=True):
        table = got.drop(columns="row").merge(order, on="variant_id").sort_values("variant_order")
        scores[(model, dataset)] = table.assign(model=model, dataset=dataset)[SCORE_COLUMNS].reset_index(drop=True)
        wanted = variants[variants["dataset"] == dataset]
        gap = wanted[~wanted["variant_id"].isin(got["variant_id"])]
        if len(gap):
            report.append(pd.DataFrame({"model": model, "dataset": dataset, "row": gap["row"].astype(float),
                                        "reason": "no_prediction", "detail": "variant " + gap["variant_id"]
                                        + " has no usable prediction from " + model, "source": ""}))
        log.info("%s / %s: %d of %d variants predicted", model, dataset, len(table), len(wanted))
    report_df = (pd.concat(report, ignore_index=True) if report else pd.DataFrame(columns=REPORT_COLUMNS))
    report_df = report_df[REPORT_COLUMNS].astype({"row": "Int64"}).sort_values(
        ["dataset", "model", "reason", "row", "source"], ignore_index=True, kind="stable")
    summary = report_df.groupby("reason").size()
    log.info("%d prediction rows read from %d files, %d model x variant scores written; import report: %s",
             len(pred), len(preds), len(hits),
             ", ".join(f"{r} {n}" for r, n in summary.items()) or "nothing unmatched")
    return scores, report_df
