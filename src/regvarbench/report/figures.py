"""Figures of the benchmark report, one function per figure, drawn from evaluate's tables.

Each ``plot_*`` function takes tidy frames and returns a matplotlib Figure, or None when its
table has no rows. ``save_figure`` writes PNG + SVG and returns the PNG bytes for embedding.
Rendering uses the Agg backend (no display) with fixed metadata so reruns give the same files.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "regvarbench", "figure.dpi": 100, "savefig.dpi": 110,
                     "axes.spines.top": False, "axes.spines.right": False, "font.size": 9})
logging.getLogger("matplotlib.category").setLevel(logging.WARNING)  # tick-label chatter
MAX_SCATTER_POINTS = 3000  # per panel, drawn deterministically from the scored variants


def class_palette(classes) -> dict:
    """Stable colour per architecture class (sorted names -> colourblind palette)."""
    names = sorted(set(classes))
    return dict(zip(names, sns.color_palette("colorblind", max(len(names), 1))))


def model_palette(models) -> dict:
    """Distinct colour per model, in the given order (tab10 up to 10 models, husl beyond)."""
    models = list(models)
    name = "tab10" if len(models) <= 10 else "husl"
    return dict(zip(models, sns.color_palette(name, max(len(models), 1))))


def save_figure(fig, figdir: Path, name: str) -> bytes:
    """Write ``name``.png and ``name``.svg under figdir; return the PNG bytes."""
    figdir.mkdir(parents=True, exist_ok=True)
    # the tight bounding box (legends outside the axes included) is measured once for both formats
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches=bbox, metadata={"Software": None})
    (figdir / f"{name}.png").write_bytes(buf.getvalue())
    fig.savefig(figdir / f"{name}.svg", format="svg", bbox_inches=bbox, metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def plot_correlation_bars(corr: pd.DataFrame, model_order=None):
    """Pearson (top row) and Spearman (bottom row) r per model with 95 % CI error bars.

    ``corr`` holds correlation rows of several groups (cell lines, then 'all'); one column of
    panels per group, bars coloured by architecture_class.
    """
    if corr is None or corr.empty:
        return None
    groups = list(dict.fromkeys(corr["group"]))
    models = list(model_order) if model_order is not None else sorted(corr["model"].unique())
    palette = class_palette(corr["architecture_class"])
    width = max(3.0, 0.28 * len(models) + 1.2)
    fig, axes = plt.subplots(2, len(groups), figsize=(width * len(groups), 6.4), squeeze=False, sharey="row")
    for col, group in enumerate(groups):
        sub = corr[corr["group"] == group].set_index("model").reindex(models)
        for row, stat in enumerate(("pearson", "spearman")):
            ax = axes[row, col]
            r = sub[f"{stat}_r"].to_numpy(dtype=float)
            low = np.clip(r - sub[f"{stat}_ci_low"].to_numpy(dtype=float), 0, None)
            high = np.clip(sub[f"{stat}_ci_high"].to_numpy(dtype=float) - r, 0, None)
            colours = [palette.get(c, "grey") for c in sub["architecture_class"].fillna("unknown")]
            x = np.arange(len(models))
            ax.bar(x, np.nan_to_num(r), color=colours, edgecolor="black", linewidth=0.4)
            ax.errorbar(x, r, yerr=np.vstack([np.nan_to_num(low), np.nan_to_num(high)]), fmt="none",
                        ecolor="black", elinewidth=0.8, capsize=2)
            ax.axhline(0, color="black", linewidth=0.6)
            ax.set_xticks(x, models, rotation=90)
            ax.set_title(f"{group}: {stat.capitalize()}" if row == 0 else "")
            if col == 0:
                ax.set_ylabel(f"{stat.capitalize()} r (score vs measured log2 effect)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in palette.values()]
    fig.legend(handles, list(palette), title="architecture", loc="upper right", frameon=False)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    return fig


def plot_direction_heatmap(direction: pd.DataFrame):
    """Heatmaps model x dataset of the fraction of up (left) and down (right) variants called right."""
    if direction is None or direction.empty:
        return None
    models = sorted(direction["model"].unique())
    datasets = sorted(direction["group"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(2.2 + 1.3 * len(datasets), 1.2 + 0.35 * len(models)), squeeze=False)
    for ax, (col, title) in zip(axes[0], [("frac_up_predicted_up", "measured up: fraction predicted up"),
                                          ("frac_down_predicted_down", "measured down: fraction predicted down")]):
        grid = direction.pivot(index="model", columns="group", values=col).reindex(index=models, columns=datasets)
        with warnings.catch_warnings():  # seaborn 0.13 calls a colormap method matplotlib 3.11 deprecates
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            sns.heatmap(grid.astype(float), ax=ax, vmin=0, vmax=1, cmap="RdBu_r", center=0.5, annot=True,
                        fmt=".2f", cbar=ax is axes[0][1], linewidths=0.5, annot_kws={"fontsize": 7})
        ax.set_title(title)
        ax.set_xlabel("dataset")
        ax.set_ylabel("model" if ax is axes[0][0] else "")
    fig.tight_layout()
    return fig


def plot_significance_lines(sig: pd.DataFrame, palette_by_model: dict | None = None):
    """Pearson and Spearman r against the p-value threshold (all variants pooled), one line per model."""
    if sig is None or sig.empty:
        return None
    overall = sig[sig["level"] == "overall"] if "level" in sig.columns else sig
    if overall.empty:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
    for ax, stat in zip(axes[0], ("pearson_r", "spearman_r")):
        sns.lineplot(data=overall, x="pvalue_max", y=stat, hue="model", marker="o", ax=ax,
                     palette=palette_by_model, legend=ax is axes[0][1])
        ax.set_xscale("log")
        ax.invert_xaxis()  # certainty rises to the right
        ax.set_xlabel("measured p-value at most")
        ax.set_ylabel(stat.replace("_r", " r").capitalize())
        ax.axhline(0, color="black", linewidth=0.6)
    if axes[0][1].get_legend() is not None:
        sns.move_legend(axes[0][1], "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.tight_layout()
    return fig


def plot_significance_scatter(scored: pd.DataFrame, model: str, thresholds):
    """Predicted score vs measured effect of one model, one panel per p-value threshold."""
    if scored is None or scored.empty:
        return None
    sub = scored[(scored["model"] == model) & np.isfinite(scored["score"]) & np.isfinite(scored["effect_log2"])]
    if sub.empty:
        return None
    panels = [("all variants", sub)] + [(f"p <= {t:g}", sub[sub["pvalue"] <= t]) for t in thresholds]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9), squeeze=False, sharex=True, sharey=True)
    for ax, (title, data) in zip(axes[0], panels):
        ax.set_title(f"{title} (n={len(data)})", fontsize=8)
        if len(data) > MAX_SCATTER_POINTS:
            data = data.sample(MAX_SCATTER_POINTS, random_state=0)
        ax.scatter(data["effect_log2"], data["score"], s=4, alpha=0.5, color="#33638d", rasterized=True)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        ax.set_xlabel("measured log2 effect")
    axes[0][0].set_ylabel(f"{model} score")
    fig.tight_layout()
    return fig


def plot_ld_topk(ld: pd.DataFrame):
    """Fraction of causal SNPs ranked in the top k of their LD block, against random expectation."""
    if ld is None or ld.empty:
        return None
    combos = ld[["group", "ranking"]].drop_duplicates().sort_values(["group", "ranking"]).itertuples(index=False)
    combos = list(combos)
    models = sorted(ld["model"].unique())
    fig, axes = plt.subplots(1, len(combos), figsize=(max(4, 0.9 * len(models) + 2) * len(combos), 3.8),
                             squeeze=False, sharey=True)
    colours = sns.color_palette("crest", 3)
    for ax, (group, ranking) in zip(axes[0], combos):
        sub = ld[(ld["group"] == group) & (ld["ranking"] == ranking)].set_index("model").reindex(models)
        x = np.arange(len(models))
        for i, k in enumerate((1, 2, 3)):
            ax.bar(x + (i - 1) * 0.27, sub[f"top{k}"], width=0.27, color=colours[i], label=f"top {k}")
            ax.scatter(x + (i - 1) * 0.27, sub[f"random_top{k}"], marker="_", s=120, color="black",
                       zorder=3, label="random expectation" if i == 0 else None)
        ax.set_xticks(x, models, rotation=90)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{group} (ranked by {ranking})")
    axes[0][0].set_ylabel("fraction of causal SNPs")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.tight_layout()
    return fig


def plot_enhancer_detection(training: pd.DataFrame, corr_by_cell: pd.DataFrame | None = None):
    """auROC, auPRC and F1 per model on held-out sequences, one panel per cell line.

    With ``corr_by_cell`` (correlation_by_cell_line), each model's Pearson r between variant
    scores and measured effects in that cell line is overlaid on a second axis, as in the
    study's figure: good enhancer detection need not mean good variant-effect prediction.
    """
    if training is None or training.empty:
        return None
    data = training[training["split"] == "test"] if (training["split"] == "test").any() else training
    long = data.melt(id_vars=["model", "cell_line"], value_vars=["auroc", "auprc", "f1"], var_name="metric")
    cells = sorted(long["cell_line"].unique())
    models = sorted(long["model"].unique())
    fig, axes = plt.subplots(1, len(cells), figsize=(max(4, 0.8 * len(models) + 2) * len(cells), 3.8),
                             squeeze=False, sharey=True)
    for ax, cell in zip(axes[0], cells):
        sns.barplot(data=long[long["cell_line"] == cell], x="model", y="value", hue="metric",
                    order=models, hue_order=["auroc", "auprc", "f1"],
                    palette="colorblind", ax=ax, legend=ax is axes[0][-1], errorbar=None)
        ax.set_ylim(0, 1.05)
        ax.set_title(cell)
        ax.tick_params(axis="x", rotation=90)
        if corr_by_cell is not None and not corr_by_cell.empty:
            r = corr_by_cell[corr_by_cell["group"] == cell].set_index("model")["pearson_r"]
            xs = [i for i, m in enumerate(models) if m in r.index and np.isfinite(r[m])]
            if xs:
                twin = ax.twinx()
                twin.plot(xs, [r[models[i]] for i in xs], "kD", markersize=6, label="Pearson r (variants)")
                twin.axhline(0, color="0.6", linewidth=0.8, linestyle=":")
                lim = max(0.1, float(np.nanmax(np.abs(r.to_numpy()))) * 1.2)
                twin.set_ylim(-lim, lim)
                twin.set_ylabel("Pearson r, variant score vs effect")
    legend = axes[0][-1].get_legend()
    if legend is not None:  # one legend above the panels, with the overlay's marker
        handles, labels = list(legend.legend_handles), [t.get_text() for t in legend.get_texts()]
        legend.remove()
        if corr_by_cell is not None and not corr_by_cell.empty:
            handles.append(plt.Line2D([], [], color="k", marker="D", linestyle="", markersize=6))
            labels.append("Pearson r (variants, right axis)")
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False,
                   bbox_to_anchor=(0.5, 1.0))
    axes[0][0].set_ylabel("held-out test set")
    fig.tight_layout()
    return fig


def plot_model_comparison(comparison: pd.DataFrame, model_order=None):
    """Model x model heatmaps over all variants pooled: Pearson r difference (row minus column), with
    Steiger test stars from the BH-adjusted p (* < 0.05, ** < 0.01, *** < 0.001), and the Spearman
    difference with its paired-bootstrap interval excluding 0 marked by a dot."""
    if comparison is None or comparison.empty:
        return None
    sub = comparison[comparison["level"] == "overall"]
    if sub.empty:
        sub = comparison[comparison["group"] == sorted(comparison["group"].unique())[0]]
    models = [m for m in (model_order or []) if m in set(sub["model_a"]) | set(sub["model_b"])]
    models += sorted((set(sub["model_a"]) | set(sub["model_b"])) - set(models))
    size = len(models)
    pearson = pd.DataFrame(np.nan, index=models, columns=models)
    spearman = pearson.copy()
    stars = pd.DataFrame("", index=models, columns=models)
    dots = stars.copy()
    for r in sub.itertuples(index=False):
        diff = r.r_a - r.r_b
        pearson.loc[r.model_a, r.model_b], pearson.loc[r.model_b, r.model_a] = diff, -diff
        spearman.loc[r.model_a, r.model_b], spearman.loc[r.model_b, r.model_a] = r.spearman_diff, -r.spearman_diff
        mark = "".join("*" for t in (0.05, 0.01, 0.001) if np.isfinite(r.p_adj) and r.p_adj < t)
        stars.loc[r.model_a, r.model_b] = stars.loc[r.model_b, r.model_a] = mark
        if np.isfinite(r.diff_ci_low) and (r.diff_ci_low > 0 or r.diff_ci_high < 0):
            dots.loc[r.model_a, r.model_b] = dots.loc[r.model_b, r.model_a] = "•"
    side = 1.6 + 0.42 * size
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 1.5, side), squeeze=False)
    panels = ((axes[0][0], pearson, stars, "Pearson r: row − column (* BH-adjusted Steiger p)"),
              (axes[0][1], spearman, dots, "Spearman ρ: row − column (• 95 % CI excludes 0)"))
    for ax, grid, marks, title in panels:
        limit = float(np.nanmax(np.abs(grid.to_numpy()))) if np.isfinite(grid.to_numpy()).any() else 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            sns.heatmap(grid.astype(float), ax=ax, cmap="RdBu_r", center=0, vmin=-limit, vmax=limit,
                        annot=marks.to_numpy(), fmt="", linewidths=0.5, annot_kws={"fontsize": 7},
                        cbar_kws={"shrink": 0.7})
        ax.set_title(f"{sub['group'].iloc[0]}: {title}", fontsize=8)
        ax.set_xlabel("")
        ax.set_ylabel("")
    fig.tight_layout()
    return fig


def plot_finetuned_arrows(pairs: pd.DataFrame):
    """Arrows from each one-shot model to its fine-tuned counterpart: Pearson (top) and Spearman
    (bottom) r per cell line and overall; one row of the y axis per pair."""
    if pairs is None or pairs.empty:
        return None
    sub = pairs[pairs["level"] != "dataset"]
    if sub.empty:
        sub = pairs
    is_overall = sub["level"] == "overall"
    groups = sorted(sub.loc[~is_overall, "group"].unique()) + sorted(sub.loc[is_overall, "group"].unique())
    labels = sorted(set(sub["oneshot"] + " → " + sub["finetuned"]))
    fig, axes = plt.subplots(2, len(groups), figsize=(3.4 * len(groups) + 1.8, 1.4 + 0.75 * len(labels)),
                             squeeze=False, sharey=True)
    for col, group in enumerate(groups):
        g = sub[sub["group"] == group].assign(label=lambda d: d["oneshot"] + " → " + d["finetuned"])
        for row, stat in enumerate(("pearson_r", "spearman_r")):
            ax = axes[row, col]
            for r in g.itertuples(index=False):
                y = labels.index(r.label)
                start, end = getattr(r, f"{stat}_oneshot"), getattr(r, f"{stat}_finetuned")
                if np.isfinite(start) and np.isfinite(end):
                    ax.annotate("", xy=(end, y), xytext=(start, y),
                                arrowprops={"arrowstyle": "-|>", "color": "#23395b", "lw": 1.4})
                ax.scatter([start], [y], color="#bbbbbb", edgecolor="black", zorder=3, s=25,
                           label="one-shot" if y == 0 else None)
                ax.scatter([end], [y], color="#d95f02", edgecolor="black", zorder=3, s=25,
                           label="fine-tuned" if y == 0 else None)
            ax.axvline(0, color="black", linewidth=0.5)
            ax.set_yticks(range(len(labels)), labels)
            ax.set_ylim(-0.6, len(labels) - 0.4)
            ax.set_xlabel(stat.replace("_r", " r").capitalize())
            if row == 0:
                ax.set_title(group)
    handles, names = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="upper right", frameon=False)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    return fig
