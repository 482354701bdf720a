"""Subcommand ``report``: one self-contained HTML page (figures inline as base64 PNG, CSS and a
small table sorter inline, nothing fetched from the network) plus PNG/SVG figure files, built
from the tables that ``evaluate`` wrote.

A section whose table is missing or empty stays in the page and says so, so readers can tell
"not run" from "forgot to look".
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__
from ..io import InputError, read_tsv
from ..variants.prepare import accounting_table

log = logging.getLogger(__name__)

TABLE_NAMES = ("correlation_by_dataset", "correlation_by_cell_line", "correlation_overall", "direction",
               "significance_bins", "ld_topk", "enhancer_detection", "unscored", "models", "scored_variants",
               "model_comparison", "finetuned_vs_oneshot", "provenance")
SECTIONS = [("summary", "Summary"), ("correlations", "Correlation with measured effects"),
            ("direction", "Direction of effect"), ("significance", "Rising experimental certainty"),
            ("ld", "Causal variants in LD blocks"), ("enhancer-detection", "Enhancer detection"),
            ("per-cell-line", "Per cell line"), ("model-comparison", "Model comparison"),
            ("finetuned-vs-oneshot", "Fine-tuned vs one-shot"), ("run-metadata", "Run metadata")]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--evaluation", required=True, metavar="DIR",
                        help="output directory of evaluate (holding tables/) or the tables directory itself")
    parser.add_argument("--pipeline-info", metavar="DIR",
                        help="Nextflow pipeline_info directory; its files are linked by relative path")
    parser.add_argument("--variant-summary", metavar="TSV",
                        help="prepare-variants summaries (variants/summary.tsv, or one <dataset>.summary.tsv): "
                             "the per-dataset accounting and allele audit of the summary section")
    parser.add_argument("--title", default="regvarbench report", help="page title")
    parser.add_argument("--outdir", required=True, help="writes OUTDIR/index.html and OUTDIR/figures/")


def run(args: argparse.Namespace) -> None:
    tables_dir = resolve_tables_dir(Path(args.evaluation))
    outdir = Path(args.outdir)
    summary = getattr(args, "variant_summary", None)
    html = build_report(tables_dir, outdir, title=args.title,
                        pipeline_info=Path(args.pipeline_info) if args.pipeline_info else None,
                        variant_summary=Path(summary) if summary else None)
    (outdir / "index.html").write_text(html, encoding="utf-8")
    log.info("wrote %s", outdir / "index.html")


def resolve_tables_dir(path: Path) -> Path:
    """Accept evaluate's outdir or its tables/ subdirectory."""
    for candidate in (path / "tables", path):
        if (candidate / "evaluation.json").is_file():
            return candidate
    raise InputError(f"--evaluation {path}: no evaluation.json in it or in its tables/ subdirectory")


def load_tables(tables_dir: Path) -> dict:
    """Every known table that exists and has rows (others map to None), plus 'evaluation' (dict)."""
    tables = {}
    for name in TABLE_NAMES:
        path = tables_dir / f"{name}.tsv"
        df = read_tsv(path, dtype={"model": str, "group": str}) if path.is_file() else None
        tables[name] = df if df is not None and not df.empty else None
    tables["evaluation"] = json.loads((tables_dir / "evaluation.json").read_text())
    return tables


def build_report(tables_dir: Path, outdir: Path, title: str, pipeline_info: Path | None = None,
                 variant_summary: Path | None = None) -> str:
    """Draw the figures into outdir/figures and render the page; returns the HTML text.

    ``variant_summary`` (variants/summary.tsv) adds the per-dataset accounting and allele audit.
    """
    from . import figures  # matplotlib only when a report is made

    t = load_tables(tables_dir)
    figdir = outdir / "figures"
    models = with_classes(t)
    order = model_order(t)
    model_palette = figures.model_palette(order)

    def embed(fig, name):
        return None if fig is None else "data:image/png;base64," + base64.b64encode(
            figures.save_figure(fig, figdir, name)).decode("ascii")

    corr_groups = pd.concat([df for df in (t["correlation_by_cell_line"], t["correlation_overall"]) if df is not None],
                            ignore_index=True) if (t["correlation_by_cell_line"] is not None
                                                   or t["correlation_overall"] is not None) else None
    if corr_groups is not None and "architecture_class" not in corr_groups.columns:
        corr_groups = corr_groups.merge(models, on="model", how="left")
    thresholds = sorted(t["significance_bins"]["pvalue_max"].unique(), reverse=True) \
        if t["significance_bins"] is not None else [0.5, 0.1, 0.05, 5e-5, 1e-5]
    best = order[0] if order else None
    sig_overall = None
    if t["significance_bins"] is not None:
        sig = t["significance_bins"]
        sig_overall = sig[sig["level"] == "overall"] if "level" in sig.columns else sig
    training = t["enhancer_detection"]

    context = {
        "title": title, "version": __version__, "sections": SECTIONS,
        "summary": summarise(t, order),
        "fig_correlations": embed(figures.plot_correlation_bars(corr_groups, order), "correlations"),
        "table_correlations": html_table(t["correlation_by_dataset"]),
        "table_correlation_cell": html_table(t["correlation_by_cell_line"]),
        "fig_direction": embed(figures.plot_direction_heatmap(t["direction"]), "direction_heatmap"),
        "table_direction": html_table(t["direction"]),
        "fig_significance": embed(figures.plot_significance_lines(t["significance_bins"], model_palette),
                                  "significance_lines"),
        "fig_scatter": embed(figures.plot_significance_scatter(t["scored_variants"], best, thresholds),
                             "significance_scatter") if best else None,
        "scatter_model": best,
        "table_significance": html_table(sig_overall),
        "fig_ld": embed(figures.plot_ld_topk(t["ld_topk"]), "ld_topk"),
        "table_ld": html_table(t["ld_topk"]),
        "fig_enhancer": embed(figures.plot_enhancer_detection(training, t["correlation_by_cell_line"]),
                              "enhancer_detection"),
        "table_enhancer": html_table(training),
        "fig_model_comparison": embed(figures.plot_model_comparison(t["model_comparison"], order),
                                      "model_comparison"),
        "table_model_comparison": html_table(t["model_comparison"]),
        "fig_finetuned": embed(figures.plot_finetuned_arrows(t["finetuned_vs_oneshot"]), "finetuned_vs_oneshot"),
        "table_finetuned": html_table(t["finetuned_vs_oneshot"]),
        "table_per_cell": per_cell_table(t["correlation_by_cell_line"], t["correlation_overall"]),
        "table_accounting": html_table(read_accounting(variant_summary)),
        "table_unscored": html_table(t["unscored"].groupby(["model", "reason"]).size().reset_index(name="variants")
                                     if t["unscored"] is not None else None),
        **provenance_tables(t["provenance"]),
        "evaluation_json": json.dumps(t["evaluation"], indent=2, sort_keys=True),
        "pipeline_links": pipeline_links(pipeline_info, outdir),
        "pipeline_info_given": pipeline_info is not None,
    }
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("template.html").render(**context)


def provenance_tables(provenance: pd.DataFrame | None) -> dict[str, str | None]:
    """HTML of the provenance table in two parts: models (source, revision, commit) and files (sha256).

    Parameters
    ----------
    provenance : pandas.DataFrame or None
        provenance.tsv of evaluate (regvarbench.provenance.PROVENANCE_COLUMNS).

    Returns
    -------
    dict
        ``table_provenance_models`` and ``table_provenance_files``: HTML tables, or None.
    """
    if provenance is None:
        return {"table_provenance_models": None, "table_provenance_files": None}
    p = provenance.astype(object).fillna("")
    models = p[p["kind"] == "model"][["model", "cell_line", "family", "source", "revision", "resolved_revision"]]
    files = p[p["kind"] != "model"][["kind", "model", "cell_line", "name", "sha256", "bytes"]].copy()
    files["bytes"] = [int(n) if pd.notna(n) else "" for n in pd.to_numeric(files["bytes"], errors="coerce")]
    return {"table_provenance_models": html_table(models if len(models) else None),
            "table_provenance_files": html_table(files if len(files) else None)}


def read_accounting(path: Path | None) -> pd.DataFrame | None:
    """Per-dataset accounting (variants.prepare.accounting_table) of a summary table; None without one."""
    if path is None:
        return None
    if not path.is_file():
        raise InputError(f"--variant-summary {path}: file not found")
    table = read_tsv(path, dtype={"dataset": str, "reason": str, "kind": str})
    return accounting_table(table, path) if len(table) else None


def with_classes(t: dict) -> pd.DataFrame:
    """model -> family, architecture_class from models.tsv (or 'unknown')."""
    if t["models"] is not None:
        return t["models"][["model", "family", "architecture_class"]]
    names = sorted({m for name in ("correlation_overall", "direction", "ld_topk", "enhancer_detection")
                    if t[name] is not None for m in t[name]["model"]})
    return pd.DataFrame({"model": names, "family": "unknown", "architecture_class": "unknown"})


def model_order(t: dict) -> list[str]:
    """Models by overall Pearson r, best first (then by name); models without it follow by name."""
    overall = t["correlation_overall"]
    ranked = []
    if overall is not None:
        ranked = (overall.assign(key=-overall["pearson_r"].fillna(-np.inf))
                  .sort_values(["key", "model"])["model"].tolist())
    rest = sorted(set(with_classes(t)["model"]) - set(ranked))
    return list(dict.fromkeys(ranked + rest))


def summarise(t: dict, order: list[str]) -> list[tuple[str, str]]:
    """Key facts for the summary section as (label, value) pairs."""
    ev = t["evaluation"]
    counts = ev.get("counts", {})
    missing = sum(p.get("no_score", 0) for p in counts.get("per_model_dataset", []))
    items = [("models", str(len(ev.get("models", order)))),
             ("variant datasets", str(len(counts.get("variants_per_dataset", {})))),
             ("variants", str(counts.get("variants_total", "?"))),
             ("variants without a score (model x variant)", str(missing)),
             ("bootstrap resamples / seed", f"{ev.get('bootstrap')} / {ev.get('seed')}")]
    overall = t["correlation_overall"]
    if overall is not None and order and overall["pearson_r"].notna().any():
        row = overall.set_index("model").loc[order[0]]
        items.append(("best overall Pearson r", f"{order[0]}: {fmt(row['pearson_r'])} "
                      f"[{fmt(row['pearson_ci_low'])}, {fmt(row['pearson_ci_high'])}] (n={int(row['n'])})"))
    return items


def fmt(value) -> str:
    """Numbers to 3 significant digits for display; NaN as an en dash."""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.3g}"
    return str(value)


def html_table(df: pd.DataFrame | None, marks: pd.DataFrame | None = None) -> dict | None:
    """Columns and cells ready for the template: each cell has display text, a sort key and a class."""
    if df is None or df.empty:
        return None
    rows = []
    for i, record in enumerate(df.itertuples(index=False)):
        cells = []
        for j, value in enumerate(record):
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            sort = "" if numeric and math.isnan(float(value)) else (repr(float(value)) if numeric else str(value))
            mark = marks.iat[i, j] if marks is not None else ""
            cells.append({"text": fmt(value) + {"best": " ★", "second": " ☆"}.get(mark, ""), "sort": sort,
                          "cls": mark})
        rows.append(cells)
    return {"columns": list(df.columns), "rows": rows}


def per_cell_table(by_cell: pd.DataFrame | None, overall: pd.DataFrame | None) -> dict | None:
    """Models x (cell line / overall) Pearson and Spearman r; best and second best per column marked."""
    frames = [df for df in (by_cell, overall) if df is not None]
    if not frames:
        return None
    long = pd.concat(frames, ignore_index=True)
    groups = list(dict.fromkeys(long["group"]))
    wide = pd.DataFrame({"model": sorted(long["model"].unique())})
    for group in groups:
        sub = long[long["group"] == group].set_index("model")
        for stat in ("pearson_r", "spearman_r"):
            wide[f"{group} {stat.split('_')[0]}"] = wide["model"].map(sub[stat]).astype(float)
    marks = pd.DataFrame("", index=wide.index, columns=wide.columns)
    for col in wide.columns[1:]:
        ranked = wide[col].dropna().sort_values(ascending=False, kind="stable")
        if len(ranked) >= 1:
            marks.loc[ranked.index[0], col] = "best"
        if len(ranked) >= 2:
            marks.loc[ranked.index[1], col] = "second"
    return html_table(wide, marks)


def pipeline_links(pipeline_info: Path | None, outdir: Path) -> list[tuple[str, str]]:
    """(name, relative href) for each file of the pipeline_info directory, execution report first."""
    if pipeline_info is None or not pipeline_info.is_dir():
        if pipeline_info is not None:
            log.warning("--pipeline-info %s is not a directory; no links", pipeline_info)
        return []
    files = sorted((p for p in pipeline_info.iterdir() if p.is_file()),
                   key=lambda p: (not p.name.startswith("execution_report"), p.name))
    return [(p.name, Path(os.path.relpath(p.resolve(), outdir.resolve())).as_posix()) for p in files]
