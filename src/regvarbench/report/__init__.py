"""Subcommand ``report``: one self-contained HTML page (figures inline as base64 PNG, CSS and a
small table sorter inline, nothing fetched from the network) plus PNG/SVG figure files, built
from the tables that ``evaluate`` wrote (and, with ``--ranked``, those of ``rank``: a section
per locus).

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
import re
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__, metrics
from ..io import InputError, read_tsv, require_columns
from ..rank import BLOCK, DEFAULT_TOP, LEAD, LOCUS, RANKED_COLUMNS, RANKED_SUFFIX, SNP_ID, TOP_COLUMNS, TOP_SUFFIX, \
    top_candidates
from ..variants.prepare import accounting_table
from . import figures, run_metadata

log = logging.getLogger(__name__)

TABLE_NAMES = ("correlation_by_dataset", "correlation_by_cell_line", "correlation_overall", "direction",
               "significance_bins", "ld_topk", "enhancer_detection", "unscored", "models", "scored_variants",
               "model_comparison", "finetuned_vs_oneshot", "provenance")
MAX_LOCUS_FIGURES = 30  # "Ranked loci": loci drawn beyond this many get their table only (and say so)
LOCUS_TABLE_COLUMNS = ["consensus_rank", SNP_ID, "variant_id", "chrom", "pos", "ref", "alt", LEAD, "mean_rank",
                       "rank_spread", "n_models"]  # of rank.TOP_COLUMNS, per locus
DENSITY_MIN_VARIANTS = 20  # Fig. 4 D: the strictest threshold with at least this many variants (best model)
SECTIONS = [("summary", "Summary"), ("correlations", "Correlation with measured effects"),
            ("direction", "Direction of effect"), ("significance", "Rising experimental certainty"),
            ("ld", "Causal variants in LD blocks"), ("loci", "Ranked loci"), ("enhancer-detection", "Enhancer detection"),
            ("per-cell-line", "Per cell line"), ("model-comparison", "Model comparison"),
            ("finetuned-vs-oneshot", "Fine-tuned vs one-shot"), ("run-metadata", "Run metadata")]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--evaluation", required=True, metavar="DIR",
                        help="output directory of evaluate (holding tables/) or the tables directory itself")
    parser.add_argument("--pipeline-info", metavar="DIR",
                        help="Nextflow pipeline_info directory; its files are linked by relative path")
    parser.add_argument("--run-info", metavar="JSON",
                        help="run_info.json of a pipeline run (pipeline_info/): Nextflow version, the run, its "
                             "parameters and seeds, and the run records linked from the report")
    parser.add_argument("--software-versions", metavar="YML",
                        help="versions.yml blocks of the run's tasks (pipeline_info/software_versions.yml)")
    parser.add_argument("--outdir-href", default="..", metavar="HREF",
                        help="the run's --outdir relative to the report's folder, for the links to the run "
                             "records of --run-info (default: .., the pipeline publishes <outdir>/report/)")
    parser.add_argument("--variant-summary", metavar="TSV",
                        help="prepare-variants summaries (variants/summary.tsv, or one <dataset>.summary.tsv): "
                             "the per-dataset accounting and allele audit of the summary section")
    parser.add_argument("--ranked", nargs="+", metavar="DIR_OR_FILES",
                        help="rank's outputs: <dataset>.ranked.tsv and .top_candidates.tsv files, or folders holding "
                             "them (the pipeline's variants/): the 'Ranked loci' section, a figure and table per locus")
    parser.add_argument("--title", default="regvarbench report", help="page title")
    parser.add_argument("--outdir", required=True, help="writes OUTDIR/index.html and OUTDIR/figures/")


def run(args: argparse.Namespace) -> None:
    tables_dir = resolve_tables_dir(Path(args.evaluation))
    outdir = Path(args.outdir)
    summary = getattr(args, "variant_summary", None)
    html = build_report(tables_dir, outdir, title=args.title,
                        pipeline_info=Path(args.pipeline_info) if args.pipeline_info else None,
                        variant_summary=Path(summary) if summary else None,
                        run_info=Path(args.run_info) if args.run_info else None,
                        software_versions=Path(args.software_versions) if args.software_versions else None,
                        outdir_href=args.outdir_href, ranked=getattr(args, "ranked", None))
    (outdir / "index.html").write_text(html, encoding="utf-8")
    log.info("wrote %s", outdir / "index.html")


def resolve_tables_dir(path: Path) -> Path:
    """Accept evaluate's outdir or its tables/ subdirectory.

    Parameters
    ----------
    path : pathlib.Path
        ``--evaluation``: evaluate's outdir or its ``tables/``.

    Returns
    -------
    pathlib.Path
        The folder holding ``evaluation.json`` (``path/tables`` preferred).

    Raises
    ------
    InputError
        If neither ``path/tables`` nor ``path`` holds ``evaluation.json``.
    """
    for candidate in (path / "tables", path):
        if (candidate / "evaluation.json").is_file():
            return candidate
    raise InputError(f"--evaluation {path}: no evaluation.json in it or in its tables/ subdirectory")


def load_tables(tables_dir: Path) -> dict:
    """Every known table that exists and has rows (others map to None), plus 'evaluation' (dict).

    Parameters
    ----------
    tables_dir : pathlib.Path
        evaluate's tables folder (as from ``resolve_tables_dir``).

    Returns
    -------
    dict
        ``TABLE_NAMES`` entry -> pandas.DataFrame (``<name>.tsv``) or None, and ``evaluation`` -> the
        parsed ``evaluation.json``.
    """
    tables = {}
    for name in TABLE_NAMES:
        path = tables_dir / f"{name}.tsv"
        df = read_tsv(path, dtype={"model": str, "group": str}) if path.is_file() else None
        tables[name] = df if df is not None and not df.empty else None
    tables["evaluation"] = json.loads((tables_dir / "evaluation.json").read_text())
    return tables


def build_report(tables_dir: Path, outdir: Path, title: str, pipeline_info: Path | None = None,
                 variant_summary: Path | None = None, ranked: list | None = None, run_info: Path | None = None,
                 software_versions: Path | None = None, outdir_href: str = "..") -> str:
    """Draw the figures into outdir/figures and render the page; returns the HTML text.

    ``variant_summary`` (variants/summary.tsv) adds the per-dataset accounting and allele audit;
    ``ranked`` (files or folders of rank's tables, see ``read_ranked``) the section per locus;
    ``run_info`` (pipeline_info/run_info.json) and ``software_versions`` (versions.yml blocks) the
    run metadata, whose run records are linked below ``outdir_href`` (see
    :mod:`regvarbench.report.run_metadata`).

    Parameters
    ----------
    tables_dir : pathlib.Path
        evaluate's tables folder.
    outdir : pathlib.Path
        The report's folder; figures go to ``outdir/figures``.
    title : str
        Page title.
    pipeline_info : pathlib.Path or None, optional
        The pipeline_info directory, whose files are linked (``pipeline_links``).
    variant_summary : pathlib.Path or None, optional
        prepare-variants summary table.
    ranked : list or None, optional
        rank's output files or folders holding them.
    run_info : pathlib.Path or None, optional
        run_info.json.
    software_versions : pathlib.Path or None, optional
        Concatenated versions.yml blocks.
    outdir_href : str, optional
        The run's --outdir relative to the report's folder.

    Returns
    -------
    str
        The HTML page (not written; the caller writes ``index.html``).
    """
    # every input read (and a damaged one reported) before the first figure is drawn
    t = load_tables(tables_dir)
    info = run_metadata.read_run_info(run_info) if run_info is not None else None
    versions = run_metadata.read_software_versions(software_versions) if software_versions is not None else None
    loci = read_ranked(ranked) if ranked else None
    accounting = read_accounting(variant_summary)
    figdir = outdir / "figures"
    order = model_order(t)
    models = with_classes(t)
    classes = dict(zip(models["model"], models["architecture_class"]))
    class_leaders = top_per_class(order, classes)
    sig_overall = significance_overall(t["significance_bins"])
    density_p = density_threshold(sig_overall, order)
    drawn = draw_figures(t)

    def embed(name):
        fig = drawn[name]
        return None if fig is None else "data:image/png;base64," + base64.b64encode(
            figures.save_figure(fig, figdir, name)).decode("ascii")

    context = {
        "title": title, "version": __version__, "sections": SECTIONS,
        "summary": summarise(t, order),
        "fig_correlations": embed("correlations"),
        "table_correlations": html_table(t["correlation_by_dataset"]),
        "table_correlation_cell": html_table(t["correlation_by_cell_line"]),
        "fig_direction": embed("direction_heatmap"),
        "table_direction": html_table(t["direction"]),
        "fig_significance": embed("significance_lines"),
        "fig_scatter": embed("significance_scatter"),
        "scatter_models": [(m, classes.get(m, "unknown")) for m in class_leaders],
        "fig_density": embed("significant_density"),
        "density_pvalue": f"{density_p:g}" if density_p is not None else None,
        "density_min": DENSITY_MIN_VARIANTS, "max_points": figures.MAX_SCATTER_POINTS,
        "fig_direction_threshold": embed("direction_by_threshold"),
        "table_significance": html_table(sig_overall),
        "fig_ld": embed("ld_topk"),
        "table_ld": html_table(t["ld_topk"]),
        "loci": locus_sections(loci, classes, figdir) if loci is not None else None,
        "loci_top": DEFAULT_TOP, "loci_max_figures": MAX_LOCUS_FIGURES,
        "fig_enhancer": embed("enhancer_detection"),
        "table_enhancer": html_table(t["enhancer_detection"]),
        "fig_model_comparison": embed("model_comparison"),
        "table_model_comparison": html_table(t["model_comparison"]),
        "fig_finetuned": embed("finetuned_vs_oneshot"),
        "table_finetuned": html_table(t["finetuned_vs_oneshot"]),
        "table_per_cell": per_cell_table(t["correlation_by_cell_line"], t["correlation_overall"], order),
        "table_accounting": html_table(accounting),
        "table_unscored": html_table(t["unscored"].groupby(["model", "reason"]).size().reset_index(name="variants")
                                     if t["unscored"] is not None else None),
        **provenance_tables(t["provenance"]),
        "evaluation_json": json.dumps(t["evaluation"], indent=2, sort_keys=True),
        "pipeline_links": run_metadata.record_links(info, outdir_href) + pipeline_links(pipeline_info, outdir),
        "pipeline_info_given": pipeline_info is not None or info is not None,
        "table_run": html_table(run_metadata.run_table(info)) if info is not None else None,
        "table_seeds": html_table(run_metadata.seeds_table(info, t["evaluation"], t["provenance"])),
        "table_params": html_table(run_metadata.params_table(info)) if info is not None else None,
        "table_versions": html_table(versions),
    }
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("template.html").render(**context)


def draw_figures(t: dict) -> dict:
    """Every figure of the report from evaluate's tables, by file stem (None where its table is empty).

    Parameters
    ----------
    t : dict
        ``load_tables`` output: table name -> pandas.DataFrame or None, plus ``evaluation``.

    Returns
    -------
    dict
        stem -> matplotlib Figure or None, in page order: correlations (Fig. 1),
        direction_heatmap (Fig. 2), significance_lines, significance_scatter (Fig. 4 A-C: the best
        model of each architecture class), significant_density (Fig. 4 D), direction_by_threshold
        (Fig. 4 E), ld_topk (Fig. 3), enhancer_detection, model_comparison, finetuned_vs_oneshot.
    """
    order = model_order(t)
    models = with_classes(t)
    classes = dict(zip(models["model"], models["architecture_class"]))
    frames = [df for df in (t["correlation_by_cell_line"], t["correlation_overall"]) if df is not None]
    corr_groups = pd.concat(frames, ignore_index=True) if frames else None
    if corr_groups is not None and "architecture_class" not in corr_groups.columns:
        corr_groups = corr_groups.merge(models, on="model", how="left")
    sig = t["significance_bins"]
    thresholds = sorted(sig["pvalue_max"].unique() if sig is not None else metrics.PVALUE_THRESHOLDS, reverse=True)
    sig_overall = significance_overall(sig)
    density_p = density_threshold(sig_overall, order)
    leaders = top_per_class(order, classes)
    return {
        "correlations": figures.plot_correlation_bars(corr_groups, classes),
        "direction_heatmap": figures.plot_direction_heatmap(t["direction"], classes),
        "significance_lines": figures.plot_significance_lines(sig, classes),
        "significance_scatter": figures.plot_significance_scatter(t["scored_variants"], leaders, thresholds, classes)
        if leaders else None,
        "significant_density": figures.plot_significant_density(
            t["scored_variants"], ranked_at(sig_overall, density_p, order), density_p, classes)
        if density_p is not None else None,
        "direction_by_threshold": figures.plot_direction_by_threshold(sig, classes),
        "ld_topk": figures.plot_ld_topk(t["ld_topk"], classes),
        "enhancer_detection": figures.plot_enhancer_detection(t["enhancer_detection"], t["correlation_by_cell_line"],
                                                              classes),
        "model_comparison": figures.plot_model_comparison(t["model_comparison"], order),
        "finetuned_vs_oneshot": figures.plot_finetuned_arrows(t["finetuned_vs_oneshot"]),
    }


def read_ranked(paths) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """rank's tables by dataset, from ``<dataset>.ranked.tsv`` / ``.top_candidates.tsv`` files or folders.

    Parameters
    ----------
    paths : list of str or path-like
        Files (either kind) and folders (every file of either kind in them, not recursive).

    Returns
    -------
    dict
        dataset -> (ranked, top): ``RANKED_COLUMNS`` and ``TOP_COLUMNS`` frames, by dataset name. A
        ranked table without its top candidates gets them from ``rank.top_candidates`` (``--top``
        default); a top-candidates table without its ranked table, a path that does not exist and
        a file of neither kind are InputErrors.
    """
    files: list[Path] = []
    for path in map(Path, paths or []):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.name.endswith((RANKED_SUFFIX, TOP_SUFFIX)))
        elif path.is_file():
            if not path.name.endswith((RANKED_SUFFIX, TOP_SUFFIX)):
                raise InputError(f"--ranked {path}: neither a <dataset>{RANKED_SUFFIX} nor a <dataset>{TOP_SUFFIX}")
            files.append(path)
        else:
            raise InputError(f"--ranked {path}: no such file or folder")
    tables: dict[str, dict[str, pd.DataFrame]] = {}
    for path in files:
        suffix, columns = (RANKED_SUFFIX, RANKED_COLUMNS) if path.name.endswith(RANKED_SUFFIX) else \
            (TOP_SUFFIX, TOP_COLUMNS)
        table = read_tsv(path, dtype={"dataset": str, LOCUS: str, SNP_ID: str, "variant_id": str, "model": str,
                                      "chrom": str})
        require_columns(table, columns, path)
        tables.setdefault(path.name[:-len(suffix)], {})[suffix] = table
    out = {}
    for dataset in sorted(tables):
        found = tables[dataset]
        if RANKED_SUFFIX not in found:
            raise InputError(f"--ranked: {dataset}{TOP_SUFFIX} given without {dataset}{RANKED_SUFFIX}, which its "
                             f"locus figures need")
        if TOP_SUFFIX not in found:
            log.info("%s: no %s given; top %d candidates per locus taken from its ranked table", dataset, TOP_SUFFIX,
                     DEFAULT_TOP)
        out[dataset] = (found[RANKED_SUFFIX], found.get(TOP_SUFFIX, top_candidates(found[RANKED_SUFFIX], DEFAULT_TOP)))
    return out


def locus_sections(ranked: dict, classes: dict, figdir: Path) -> list[dict]:
    """The "Ranked loci" section: per locus a figure (figures.plot_locus) and its top candidates.

    Parameters
    ----------
    ranked : dict
        ``read_ranked`` output.
    classes : dict
        model -> architecture class (model labels coloured by it).
    figdir : pathlib.Path
        Where ``locus_<dataset>_<locus>.png|svg`` are written.

    Returns
    -------
    list of dict
        One entry per locus of datasets with a lead SNP (LD exports) or a single locus (a VCF of
        a region), and one per dataset of several loci without leads (LD blocks: their top
        candidates only, their retrieval being Fig. 3): ``dataset, locus, title, caption, figure``
        (a PNG data URI or None), ``note`` and ``table`` (``html_table`` of ``LOCUS_TABLE_COLUMNS``).
        Beyond ``MAX_LOCUS_FIGURES`` loci are listed with their table and a note, without figure.
    """
    sections, drawn = [], 0
    for dataset, (table, top) in ranked.items():
        if table.empty:
            sections.append({"dataset": dataset, "locus": "", "title": dataset, "figure": None, "table": None,
                             "caption": "", "note": "no model scored any of its variants: nothing ranked"})
            continue
        loci = list(dict.fromkeys(table[LOCUS]))
        if not (table[LEAD] == 1).any() and len(loci) > 1:
            sections.append({"dataset": dataset, "locus": "", "title": f"{dataset}: {len(loci)} loci without a lead SNP",
                             "figure": None, "table": html_table(top[[LOCUS, *LOCUS_TABLE_COLUMNS]]),
                             "caption": f"top {DEFAULT_TOP} candidates of each locus by consensus",
                             "note": f"Loci without a lead SNP ({BLOCK} of an ld_blocks dataset: their causal SNP "
                                     "is known, its retrieval is Fig. 3); no figure per locus."})
            continue
        for locus in loci:
            rows = table[table[LOCUS] == locus]
            best = top[top[LOCUS] == locus]
            lead = rows.loc[rows[LEAD] == 1, SNP_ID].drop_duplicates().tolist()
            lead_rank = best["lead_consensus_rank"].dropna()
            n_models = rows["model"].nunique()
            caption = (f"{rows['variant_id'].nunique()} variants, {n_models} model{'s' if n_models != 1 else ''}; "
                       + (f"lead SNP {', '.join(lead)} at consensus rank {fmt(float(lead_rank.iloc[0]))}"
                          if len(lead) and len(lead_rank) else "no lead SNP"))
            figure, note = None, ""
            if drawn < MAX_LOCUS_FIGURES:
                fig = figures.plot_locus(rows, classes, top=DEFAULT_TOP)
                if fig is not None:
                    stem = re.sub(r"[^A-Za-z0-9._-]", "_", f"locus_{dataset}_{locus}")
                    figure = "data:image/png;base64," + base64.b64encode(
                        figures.save_figure(fig, figdir, stem)).decode("ascii")
                    drawn += 1
            else:
                note = (f"Figure not drawn: the report draws {MAX_LOCUS_FIGURES} loci; every locus is in "
                        f"variants/{dataset}{RANKED_SUFFIX}.")
            title = dataset if locus == dataset else f"{dataset}: {locus}"  # a region is one locus named by its dataset
            sections.append({"dataset": dataset, "locus": locus, "title": title, "caption": caption,
                             "figure": figure, "note": note, "table": html_table(best[LOCUS_TABLE_COLUMNS])})
    return sections


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
    models = p[p["kind"] == "model"][["model", "cell_line", "family", "source", "revision", "resolved_revision",
                                      *(["seed"] if "seed" in p.columns else [])]]
    files = p[p["kind"] != "model"][["kind", "model", "cell_line", "name", "sha256", "bytes"]].copy()
    files["bytes"] = [int(n) if pd.notna(n) else "" for n in pd.to_numeric(files["bytes"], errors="coerce")]
    return {"table_provenance_models": html_table(models if len(models) else None),
            "table_provenance_files": html_table(files if len(files) else None)}


def read_accounting(path: Path | None) -> pd.DataFrame | None:
    """Per-dataset accounting (variants.prepare.accounting_table) of a summary table; None without one.

    Parameters
    ----------
    path : pathlib.Path or None
        ``--variant-summary``: a prepare-variants summary table.

    Returns
    -------
    pandas.DataFrame or None
        ``accounting_table`` of the summary; None without a path or for an empty table.

    Raises
    ------
    InputError
        If ``path`` is given but is not a file.
    """
    if path is None:
        return None
    if not path.is_file():
        raise InputError(f"--variant-summary {path}: file not found")
    table = read_tsv(path, dtype={"dataset": str, "reason": str, "kind": str})
    return accounting_table(table, path) if len(table) else None


def with_classes(t: dict) -> pd.DataFrame:
    """model -> family, architecture_class from models.tsv (or 'unknown').

    Parameters
    ----------
    t : dict
        The tables of ``load_tables``.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``family``, ``architecture_class``; without models.tsv, every model of the
        correlation_overall, direction, ld_topk and enhancer_detection tables (sorted), both 'unknown'.
    """
    if t["models"] is not None:
        return t["models"][["model", "family", "architecture_class"]]
    names = sorted({m for name in ("correlation_overall", "direction", "ld_topk", "enhancer_detection")
                    if t[name] is not None for m in t[name]["model"]})
    return pd.DataFrame({"model": names, "family": "unknown", "architecture_class": "unknown"})


def model_order(t: dict) -> list[str]:
    """Models by overall Pearson r, best first (then by name); models without it follow by name.

    Parameters
    ----------
    t : dict
        The tables of ``load_tables``.

    Returns
    -------
    list of str
        Every model once.
    """
    overall = t["correlation_overall"]
    ranked = []
    if overall is not None:
        ranked = (overall.assign(key=-overall["pearson_r"].fillna(-np.inf))
                  .sort_values(["key", "model"])["model"].tolist())
    rest = sorted(set(with_classes(t)["model"]) - set(ranked))
    return list(dict.fromkeys(ranked + rest))


def significance_overall(sig: pd.DataFrame | None) -> pd.DataFrame | None:
    """The rows of significance_bins over all variants pooled.

    Parameters
    ----------
    sig : pandas.DataFrame or None
        evaluate's significance_bins.

    Returns
    -------
    pandas.DataFrame or None
        Its ``level == "overall"`` rows (every row of a table without ``level``); None without a table.
    """
    if sig is None:
        return None
    return sig[sig["level"] == "overall"] if "level" in sig.columns else sig


def top_per_class(order: list[str], classes: dict) -> list[str]:
    """The best model (first in ``order``) of each architecture class, in ``order``.

    Parameters
    ----------
    order : list of str
        Models, best first (``model_order``).
    classes : dict
        model -> architecture class ('unknown' where missing).

    Returns
    -------
    list of str
        One model per class present, best class leader first.
    """
    seen, leaders = set(), []
    for model in order:
        cls = classes.get(model, "unknown")
        if cls not in seen:
            seen.add(cls)
            leaders.append(model)
    return leaders


def density_threshold(sig_overall: pd.DataFrame | None, order: list[str]) -> float | None:
    """The strictest p-value threshold at which the best model has at least ``DENSITY_MIN_VARIANTS``
    variants pooled (else the loosest): the "highly significant" variants of Fig. 4 D.

    Parameters
    ----------
    sig_overall : pandas.DataFrame or None
        The overall rows of significance_bins (``model, pvalue_max, n``).
    order : list of str
        Models, best first.

    Returns
    -------
    float or None
        The threshold; None without significance rows.
    """
    if sig_overall is None or sig_overall.empty:
        return None
    best = next((m for m in order if (sig_overall["model"] == m).any()), sig_overall["model"].iloc[0])
    rows = sig_overall[sig_overall["model"] == best]
    enough = rows[rows["n"] >= DENSITY_MIN_VARIANTS]["pvalue_max"]
    return float(enough.min() if len(enough) else rows["pvalue_max"].max())


def ranked_at(sig_overall: pd.DataFrame, pvalue_max: float, order: list[str]) -> list[str]:
    """Models by Pearson r among variants with p-value <= ``pvalue_max`` (best first), then the
    models of ``order`` without a value there.

    Parameters
    ----------
    sig_overall : pandas.DataFrame
        The overall rows of significance_bins.
    pvalue_max : float
        One of its thresholds.
    order : list of str
        All models, best overall first.

    Returns
    -------
    list of str
        Every model of ``order`` once.
    """
    at = sig_overall[sig_overall["pvalue_max"] == pvalue_max].set_index("model")["pearson_r"]
    ranked = [m for m in figures.ranked(at) if np.isfinite(at[m])]
    return ranked + [m for m in order if m not in set(ranked)]


def summarise(t: dict, order: list[str]) -> list[tuple[str, str]]:
    """Key facts for the summary section as (label, value) pairs.

    Parameters
    ----------
    t : dict
        The tables of ``load_tables`` (its ``evaluation`` and ``correlation_overall``).
    order : list of str
        Models, best first (``model_order``); the first is reported as best overall.

    Returns
    -------
    list of (str, str)
    """
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
    """Numbers to 3 significant digits for display; NaN as an en dash.

    Parameters
    ----------
    value : Any
        A cell value; floats are formatted (scientific below 1e-3 or from 1e5), others shown with ``str``.

    Returns
    -------
    str
    """
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.3g}"
    return str(value)


def html_table(df: pd.DataFrame | None, marks: pd.DataFrame | None = None) -> dict | None:
    """Columns and cells ready for the template: each cell has display text, a sort key and a class.

    Parameters
    ----------
    df : pandas.DataFrame or None
        The table to show.
    marks : pandas.DataFrame or None, optional
        Same shape as ``df``: per cell ``"best"``, ``"second"`` or ``""`` (a star is added and used as
        the cell's class).

    Returns
    -------
    dict or None
        ``columns`` (list of str) and ``rows`` (list of lists of dicts with ``text``, ``sort`` and
        ``cls``); None for a missing or empty table.
    """
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


def per_cell_table(by_cell: pd.DataFrame | None, overall: pd.DataFrame | None,
                   order: list[str] | None = None) -> dict | None:
    """Table 1: models x (cell line / overall) Pearson and Spearman r; best (bold) and second best
    (underlined) per column marked.

    Parameters
    ----------
    by_cell : pandas.DataFrame or None
        correlation_by_cell_line: one column pair per cell line it holds (NPC when NPC data was given).
    overall : pandas.DataFrame or None
        correlation_overall (group ``all``), the last column pair.
    order : list of str, optional
        Row order (best overall first); models not in it follow by name.

    Returns
    -------
    dict or None
        ``html_table`` of ``model`` and ``<group> pearson`` / ``<group> spearman`` columns.
    """
    frames = [df for df in (by_cell, overall) if df is not None]
    if not frames:
        return None
    long = pd.concat(frames, ignore_index=True)
    groups = list(dict.fromkeys(long["group"]))
    present = set(long["model"])
    rows = [m for m in (order or []) if m in present] + sorted(present - set(order or []))
    wide = pd.DataFrame({"model": rows})
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
    """(name, relative href) for each file of the pipeline_info directory, execution report first.

    Parameters
    ----------
    pipeline_info : pathlib.Path or None
        The pipeline_info directory; a path that is not a directory is logged and gives no links.
    outdir : pathlib.Path
        The report's folder, which the hrefs are relative to.

    Returns
    -------
    list of (str, str)
        File name and POSIX relative path, execution report first, then by name.
    """
    if pipeline_info is None or not pipeline_info.is_dir():
        if pipeline_info is not None:
            log.warning("--pipeline-info %s is not a directory; no links", pipeline_info)
        return []
    files = sorted((p for p in pipeline_info.iterdir() if p.is_file()),
                   key=lambda p: (not p.name.startswith("execution_report"), p.name))
    return [(p.name, Path(os.path.relpath(p.resolve(), outdir.resolve())).as_posix()) for p in files]
