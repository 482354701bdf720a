"""Figures of the benchmark report, one function per figure of the study, drawn from evaluate's tables.

Each ``plot_*`` function takes tidy frames and returns a matplotlib Figure, or None when its
table has no rows. Sizes grow with the number of models (a fixed height per model row or width
per model column), models are sorted by the figure's metric and coloured by architecture class
(``ARCHITECTURE_COLOURS``, the one definition of those colours). ``text_overlaps`` lists the
labels of a drawn figure whose boxes overlap (the tests require none, with 3 and with 30
models). ``save_figure`` writes PNG + SVG and returns the PNG bytes for embedding. Rendering
uses the Agg backend (no display) with fixed metadata so reruns give the same files.
"""

from __future__ import annotations

import io
import logging
import textwrap
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .. import metrics  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "regvarbench", "figure.dpi": 100, "savefig.dpi": 110,
                     "axes.spines.top": False, "axes.spines.right": False, "font.size": 9})
logging.getLogger("matplotlib.category").setLevel(logging.WARNING)  # tick-label chatter
MAX_SCATTER_POINTS = 3000  # per panel, drawn deterministically from the scored variants
ROW_IN = 0.26  # inches per model row: horizontal bars, heatmap rows, violins (9-pt labels need ~0.17)
COL_IN = 0.42  # inches per model column of grouped vertical bars (rotated 9-pt labels)
CELL_IN = 0.55  # inches per heatmap column (a "0.00" annotation at 7 pt is ~0.25 in wide)
PANEL_IN = 3.2  # width of a panel whose x axis is a value rather than models
CHAR_IN = 0.068  # approximate width of one 9-pt character, to size label margins
MAX_WIDTH_IN = 14.0  # panels of model columns wrap onto a new row beyond this width
UNKNOWN = "unknown"
# The one definition of the architecture-class colours (colourblind palette); every class of
# assets/models.csv has its colour here (tests/unit/test_figures.py checks), a class not listed
# takes a spare colour by sorted name, so a class keeps its colour whichever others a run has.
ARCHITECTURE_COLOURS = {"cnn": "#0173b2", "transformer": "#de8f05", "hybrid": "#029e73", "baseline": "#cc78bc",
                        UNKNOWN: "#949494"}
SPARE_COLOURS = ("#d55e00", "#56b4e9", "#ca9161", "#fbafe4", "#ece133")
LD_TITLES = {"pos_score": "highest score first (the study's ranking)", "neg_score": "most negative score first",
             "abs_score": "largest |score| first"}
UP_DOWN_COLOURS = {"up": "#b2182b", "down": "#2166ac"}
METRIC_SHADES = {"auroc": "#3b3b3b", "auprc": "#8a8a8a", "f1": "#cfcfcf"}
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def save_figure(fig, figdir: Path, name: str) -> bytes:
    """Write ``name``.png and ``name``.svg under figdir (cropped to the drawn content) and close the figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    figdir : pathlib.Path
        Output directory (created).
    name : str
        File stem.

    Returns
    -------
    bytes
        The PNG, for embedding in the page.
    """
    figdir.mkdir(parents=True, exist_ok=True)
    # the tight bounding box (legends outside the axes included) is measured once for both formats,
    # after a draw has applied the constrained layout; the layout is then kept as it is, so that
    # neither savefig lays the figure out again (two layout passes fewer per figure)
    fig.canvas.draw()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    fig.set_layout_engine("none")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches=bbox, metadata={"Software": None})
    (figdir / f"{name}.png").write_bytes(buf.getvalue())
    fig.savefig(figdir / f"{name}.svg", format="svg", bbox_inches=bbox, metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def class_palette(classes) -> dict:
    """Colour of each architecture class: fixed for the catalogue's classes, spare ones for others.

    Parameters
    ----------
    classes : iterable of str
        Architecture classes (repeats allowed).

    Returns
    -------
    dict
        class -> hex colour, in sorted class order; ``ARCHITECTURE_COLOURS`` where listed, the
        others take ``SPARE_COLOURS`` in sorted order (cycled).
    """
    names = sorted(set(classes))
    extra = [c for c in names if c not in ARCHITECTURE_COLOURS]
    spare = {c: SPARE_COLOURS[i % len(SPARE_COLOURS)] for i, c in enumerate(extra)}
    return {c: ARCHITECTURE_COLOURS.get(c, spare.get(c)) for c in names}


def model_colours(classes: dict) -> dict:
    """Colour of each model, that of its architecture class.

    Parameters
    ----------
    classes : dict
        model -> architecture class.

    Returns
    -------
    dict
        model -> hex colour.
    """
    palette = class_palette(classes.values())
    return {model: palette[cls] for model, cls in classes.items()}


def drawn_labels(fig) -> list:
    """Every label a reader sees in a figure: visible tick labels inside the axis limits, axis labels,
    titles and legend texts (heatmap cell annotations left out).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Drawn on the Agg canvas first (layout applied).

    Returns
    -------
    list of matplotlib.text.Text
        The visible, non-empty labels.
    """
    fig.canvas.draw()
    texts = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts.append(ax.title)
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            if not (ax.axison and axis.get_visible()):
                continue
            low, high = sorted(limits)
            slack = 1e-9 * (high - low)
            for tick in axis.get_major_ticks():
                if low - slack <= tick.get_loc() <= high + slack:
                    texts.extend((tick.label1, tick.label2))
            texts.append(axis.label)
        legend = ax.get_legend()
        if legend is not None:
            texts.extend([legend.get_title(), *legend.get_texts()])
    for legend in fig.legends:
        texts.extend([legend.get_title(), *legend.get_texts()])
    texts.extend(fig.texts)
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def text_overlaps(fig, tolerance_px: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of labels of a figure whose rendered boxes overlap (see ``drawn_labels``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to draw and measure.
    tolerance_px : float
        Boxes must overlap by more than this many pixels in both directions to count.

    Returns
    -------
    list of (str, str)
        The texts of each overlapping pair; empty for a legible figure.
    """
    texts = drawn_labels(fig)
    if len(texts) < 2:
        return []
    renderer = fig.canvas.get_renderer()
    box = np.array([t.get_window_extent(renderer).extents for t in texts])  # x0, y0, x1, y1
    dx = np.minimum(box[:, None, 2], box[None, :, 2]) - np.maximum(box[:, None, 0], box[None, :, 0])
    dy = np.minimum(box[:, None, 3], box[None, :, 3]) - np.maximum(box[:, None, 1], box[None, :, 1])
    hits = np.triu((dx > tolerance_px) & (dy > tolerance_px), k=1)
    return [(texts[i].get_text(), texts[j].get_text()) for i, j in zip(*np.nonzero(hits))]


def ranked(values: pd.Series) -> list[str]:
    """Index labels by value, highest first; NaN last; ties by name.

    Parameters
    ----------
    values : pandas.Series
        Indexed by model, one value each.

    Returns
    -------
    list of str
        The models in display order.
    """
    v = values.astype(float)
    return sorted(v.index, key=lambda m: (not np.isfinite(v[m]), -v[m] if np.isfinite(v[m]) else 0.0, str(m)))


def label_inches(names) -> float:
    """Room for the longest of these labels at 9 pt.

    Parameters
    ----------
    names : iterable
        The labels (any objects; their str is measured).

    Returns
    -------
    float
        Inches: a margin plus ``CHAR_IN`` per character of the longest label.
    """
    names = [str(n) for n in names]
    return 0.3 + CHAR_IN * max((len(n) for n in names), default=0)


def panel_grid(n_panels: int, panel_width: float, max_width: float = MAX_WIDTH_IN) -> tuple[int, int]:
    """Rows and columns for ``n_panels`` panels of one width: as many side by side as fit ``max_width``.

    Parameters
    ----------
    n_panels : int
        Panels to place (at least 1).
    panel_width : float
        Width of one panel in inches.
    max_width : float
        Width budget of a row of panels in inches.

    Returns
    -------
    tuple of int
        (rows, columns), rows x columns >= n_panels.
    """
    cols = max(1, min(n_panels, int(max_width // max(panel_width, 1e-9))))
    return -(-n_panels // cols), cols


def _class_of(classes: dict | None, frame: pd.DataFrame | None = None) -> dict:
    """model -> architecture class from ``classes``, else the frame's architecture_class column."""
    out = {}
    if frame is not None and "architecture_class" in frame.columns:
        out.update(zip(frame["model"], frame["architecture_class"].fillna(UNKNOWN)))
    out.update(classes or {})
    return out


def _class_legend(fig, models, class_of: dict) -> None:
    """One legend above the figure naming the architecture classes of ``models``."""
    palette = class_palette(class_of.get(m, UNKNOWN) for m in models)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="black", linewidth=0.4) for c in palette.values()]
    fig.legend(handles, list(palette), title="architecture class", loc="outside upper center",
               ncol=min(len(palette), 6), frameon=False)


def _colour_ticklabels(labels, class_of: dict) -> None:
    """Colour model tick labels by their architecture class."""
    colours = model_colours({t.get_text(): class_of.get(t.get_text(), UNKNOWN) for t in labels})
    for t in labels:
        t.set_color(colours[t.get_text()])


def plot_correlation_bars(corr: pd.DataFrame, classes: dict | None = None):
    """Fig. 1: Pearson and Spearman r per model with 95 % bootstrap CIs, one row of panels per group.

    Parameters
    ----------
    corr : pandas.DataFrame
        Correlation rows (evaluate.table_correlations columns) of several groups: the cell lines,
        then ``all``; optional ``architecture_class``.
    classes : dict, optional
        model -> architecture class (bar colours); overrides the frame's column.

    Returns
    -------
    matplotlib.figure.Figure or None
        Horizontal bars, models sorted by the group's Pearson r (best on top); height grows with
        the number of models; None for an empty table.
    """
    if corr is None or corr.empty:
        return None
    class_of = _class_of(classes, corr)
    groups = list(dict.fromkeys(corr["group"]))
    orders = {g: ranked(corr[corr["group"] == g].set_index("model")["pearson_r"]) for g in groups}
    models = sorted(set(corr["model"]))
    heights = [len(orders[g]) + 2.6 for g in groups]
    fig = plt.figure(figsize=(2 * PANEL_IN + label_inches(models), 0.9 + ROW_IN * sum(heights)), layout="constrained")
    grid = fig.add_gridspec(len(groups), 2, height_ratios=heights)
    first = {}
    for row, group in enumerate(groups):
        order = orders[group]
        sub = corr[corr["group"] == group].set_index("model").reindex(order)
        y = np.arange(len(order))
        colours = [model_colours({m: class_of.get(m, UNKNOWN)})[m] for m in order]
        left = None
        for col, stat in enumerate(("pearson", "spearman")):
            ax = fig.add_subplot(grid[row, col], sharex=first.get(stat), sharey=left)
            first.setdefault(stat, ax)
            left = left or ax
            r = sub[f"{stat}_r"].to_numpy(dtype=float)
            low = np.nan_to_num(np.clip(r - sub[f"{stat}_ci_low"].to_numpy(dtype=float), 0, None))
            high = np.nan_to_num(np.clip(sub[f"{stat}_ci_high"].to_numpy(dtype=float) - r, 0, None))
            ax.barh(y, np.nan_to_num(r), height=0.75, color=colours, edgecolor="black", linewidth=0.4)
            ax.errorbar(r, y, xerr=np.vstack([low, high]), fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
            ax.axvline(0, color="black", linewidth=0.6)
            ax.set_title(f"{group}: {'Pearson r' if stat == 'pearson' else 'Spearman ρ'}")
            if row == len(groups) - 1:
                ax.set_xlabel(f"{'Pearson r' if stat == 'pearson' else 'Spearman ρ'}, score vs measured log2 effect")
            if col == 0:
                ax.set_yticks(y, order)
                ax.set_ylim(len(order) - 0.5, -0.5)
            else:
                ax.tick_params(labelleft=False)
    _class_legend(fig, models, class_of)
    return fig


def _updown_heatmaps(up: pd.DataFrame, down: pd.DataFrame, class_of: dict, xlabel: str, separators=()):
    """Two heatmaps, models (rows, in the frames' order) x columns: fraction of measured-up variants
    predicted up (left) and of measured-down predicted down (right), annotated, on one 0-1 scale."""
    models, columns = list(up.index), [str(c) for c in up.columns]
    panel = max(2.2, CELL_IN * len(columns))
    rotate = CHAR_IN * max(len(c) for c in columns) > panel / len(columns) - 0.05  # horizontal only if it fits
    width = 2 * panel + label_inches(models) + 1.2
    height = 2.0 + ROW_IN * len(models) + (label_inches(columns) if rotate else 0.3)
    fig, axes = plt.subplots(1, 2, figsize=(width, height), sharey=True, squeeze=False, layout="constrained")
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#eeeeee")
    for ax, grid, title in ((axes[0][0], up, "measured up:\nfraction predicted up"),
                            (axes[0][1], down, "measured down:\nfraction predicted down")):
        values = grid.to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), vmin=0, vmax=1, cmap=cmap, aspect="auto",
                          interpolation="nearest")
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(v - 0.5) > 0.3 else "black")
        for x in separators:
            ax.axvline(x - 0.5, color="black", linewidth=1.5)
        ax.set_xticks(range(len(columns)), columns, rotation=90 if rotate else 0)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.spines[:].set_visible(False)
    axes[0][0].set_yticks(range(len(models)), models)
    _colour_ticklabels(axes[0][0].get_yticklabels(), class_of)
    axes[0][1].tick_params(labelleft=False)
    fig.colorbar(image, ax=list(axes[0]), shrink=min(1.0, 3.0 / height), label="fraction called right")
    _class_legend(fig, models, class_of)
    return fig


def plot_direction_heatmap(direction: pd.DataFrame, classes: dict | None = None):
    """Fig. 2: fraction of up and of down variants called right, over all variants pooled, per cell
    line and per dataset.

    Parameters
    ----------
    direction : pandas.DataFrame
        evaluate's direction table (``model, group, frac_up_predicted_up, frac_down_predicted_down,
        balanced_accuracy, level``; without ``level`` every row is a dataset).
    classes : dict, optional
        model -> architecture class (tick-label colours).

    Returns
    -------
    matplotlib.figure.Figure or None
        Two heatmaps models x (all | cell lines | datasets), models sorted by their pooled balanced
        accuracy (the first column's); one row per model of fixed height.
    """
    if direction is None or direction.empty:
        return None
    d = direction if "level" in direction.columns else direction.assign(level="dataset")
    rank = {"overall": 0, "cell_line": 1, "dataset": 2}
    keys = sorted(set(zip(d["level"], d["group"])), key=lambda k: (rank.get(k[0], 3), k[1]))
    indexed = d.set_index(["model", "level", "group"])
    models = sorted(d["model"].unique())

    def grid(column):
        return pd.DataFrame({key: indexed[column].reindex([(m, *key) for m in models]).to_numpy(dtype=float)
                             for key in keys}, index=models)

    balanced = grid("balanced_accuracy")
    order = ranked(balanced[keys[0]])
    labels = ["all variants" if level == "overall" else group for level, group in keys]
    levels = [level for level, _ in keys]
    separators = [i for i in range(1, len(levels)) if levels[i] != levels[i - 1]]
    up, down = grid("frac_up_predicted_up").loc[order], grid("frac_down_predicted_down").loc[order]
    up.columns = down.columns = labels
    return _updown_heatmaps(up, down, _class_of(classes, d), "all variants | cell line | dataset", separators)


def plot_direction_by_threshold(sig: pd.DataFrame, classes: dict | None = None):
    """Fig. 4 E: fraction of up and of down variants called right among variants measured with
    p-value at most each threshold, all variants pooled.

    Parameters
    ----------
    sig : pandas.DataFrame
        evaluate's significance_bins (``model, group, pvalue_max, frac_up_predicted_up,
        frac_down_predicted_down[, level]``); the ``overall`` rows are drawn.
    classes : dict, optional
        model -> architecture class (tick-label colours).

    Returns
    -------
    matplotlib.figure.Figure or None
        Two heatmaps models x thresholds (loosest left), models sorted by their mean balanced
        accuracy over the thresholds.
    """
    if sig is None or sig.empty:
        return None
    overall = sig[sig["level"] == "overall"] if "level" in sig.columns else sig
    if overall.empty:
        return None
    thresholds = sorted(overall["pvalue_max"].unique(), reverse=True)
    up = overall.pivot(index="model", columns="pvalue_max", values="frac_up_predicted_up")[thresholds]
    down = overall.pivot(index="model", columns="pvalue_max", values="frac_down_predicted_down")[thresholds]
    order = ranked(((up + down) / 2).mean(axis=1, skipna=True))
    up, down = up.loc[order].astype(float), down.loc[order].astype(float)
    up.columns = down.columns = [f"≤ {t:g}" for t in thresholds]
    return _updown_heatmaps(up, down, _class_of(classes), "measured p-value")


def plot_significance_lines(sig: pd.DataFrame, classes: dict | None = None):
    """Pearson and Spearman r against the p-value threshold (all variants pooled), one line per model.

    Parameters
    ----------
    sig : pandas.DataFrame
        evaluate's significance_bins; the ``overall`` rows are drawn.
    classes : dict, optional
        model -> architecture class: a line's colour; line style and marker tell apart the
        models of one class.

    Returns
    -------
    matplotlib.figure.Figure or None
        Two panels; the legend lists models by mean Pearson r over the thresholds, best first.
    """
    if sig is None or sig.empty:
        return None
    overall = sig[sig["level"] == "overall"] if "level" in sig.columns else sig
    if overall.empty:
        return None
    class_of = _class_of(classes)
    order = ranked(overall.groupby("model")["pearson_r"].mean())
    colours = model_colours({m: class_of.get(m, UNKNOWN) for m in order})
    seen: dict[str, int] = {}
    style = {}
    for m in order:
        k = seen.get(class_of.get(m, UNKNOWN), 0)
        seen[class_of.get(m, UNKNOWN)] = k + 1
        style[m] = (LINESTYLES[(k // len(MARKERS)) % len(LINESTYLES)], MARKERS[k % len(MARKERS)])
    ncol = 1 if len(order) <= 14 else 2
    height = max(3.6, 1.2 + 0.2 * -(-len(order) // ncol))
    fig, axes = plt.subplots(1, 2, figsize=(2 * PANEL_IN + 0.8 + ncol * label_inches(order), height),
                             squeeze=False, layout="constrained")
    for ax, stat in zip(axes[0], ("pearson_r", "spearman_r")):
        for m in order:
            line = overall[overall["model"] == m].sort_values("pvalue_max")
            ax.plot(line["pvalue_max"], line[stat], linestyle=style[m][0], marker=style[m][1], markersize=4,
                    color=colours[m], label=m if ax is axes[0][0] else None)
        ax.set_xscale("log")
        ax.invert_xaxis()  # certainty rises to the right
        ax.set_xlabel("measured p-value at most")
        ax.set_ylabel("Pearson r" if stat == "pearson_r" else "Spearman ρ")
        ax.axhline(0, color="black", linewidth=0.6)
    fig.legend(loc="outside right upper", ncol=ncol, frameon=False, title="model (colour: architecture class)")
    return fig


def plot_significance_scatter(scored: pd.DataFrame, models, thresholds, classes: dict | None = None):
    """Fig. 4 A-C: predicted score vs measured effect at rising certainty, one row per model (the
    report passes the best model of each architecture class), one panel per p-value threshold.

    Parameters
    ----------
    scored : pandas.DataFrame
        evaluate's scored_variants (``model, effect_log2, pvalue, score``).
    models : list of str
        The models, one row each, in this order (a single name is one row).
    thresholds : list of float
        p-value thresholds, one panel each after the "all variants" panel.
    classes : dict, optional
        model -> architecture class (point colours).

    Returns
    -------
    matplotlib.figure.Figure or None
        At most ``MAX_SCATTER_POINTS`` points per panel (a seeded sample); None without data.
    """
    if scored is None or scored.empty:
        return None
    models = [models] if isinstance(models, str) else list(models)
    finite = scored[np.isfinite(scored["score"]) & np.isfinite(scored["effect_log2"])]
    rows = [(m, finite[finite["model"] == m]) for m in models if (finite["model"] == m).any()]
    if not rows:
        return None
    class_of = _class_of(classes)
    n_panels = 1 + len(thresholds)
    fig, axes = plt.subplots(len(rows), n_panels, figsize=(1.9 * n_panels + 1.4, 0.8 + 2.1 * len(rows)),
                             squeeze=False, sharex=True, sharey="row", layout="constrained")
    for row, (model, sub) in enumerate(rows):
        colour = model_colours({model: class_of.get(model, UNKNOWN)})[model]
        panels = [("all variants", sub)] + [(f"p ≤ {t:g}", sub[sub["pvalue"] <= t]) for t in thresholds]
        for ax, (title, data) in zip(axes[row], panels):
            ax.set_title(f"{title} (n={len(data)})", fontsize=8)
            if len(data) > MAX_SCATTER_POINTS:
                data = data.sample(MAX_SCATTER_POINTS, random_state=0)
            ax.scatter(data["effect_log2"], data["score"], s=4, alpha=0.5, color=colour, rasterized=True)
            ax.axhline(0, color="grey", linewidth=0.5)
            ax.axvline(0, color="grey", linewidth=0.5)
        name = "\n".join(textwrap.wrap(model, 22))
        axes[row][0].set_ylabel(f"{name}\n({class_of.get(model, UNKNOWN)}) score", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("measured log2 effect")
    return fig


def plot_significant_density(scored: pd.DataFrame, models, pvalue_max: float, classes: dict | None = None):
    """Fig. 4 D: density of each model's scores for highly significant variants, measured up vs down.

    Parameters
    ----------
    scored : pandas.DataFrame
        evaluate's scored_variants (``model, effect_log2, pvalue, score``).
    models : list of str
        The models in display order (top first); those without two such variants are left out.
    pvalue_max : float
        Variants measured with p-value at most this are drawn.
    classes : dict, optional
        model -> architecture class (tick-label colours).

    Returns
    -------
    matplotlib.figure.Figure or None
        One split violin per model (up left in red, down in blue) of score / SD of all the model's
        finite scores (so models with different score scales share an axis; the sign is kept).
    """
    if scored is None or scored.empty:
        return None
    finite = scored[np.isfinite(scored["score"]) & np.isfinite(scored["effect_log2"])]
    spread = finite.groupby("model")["score"].std(ddof=0)
    sig = finite[(finite["pvalue"] <= pvalue_max) & (finite["effect_log2"] != 0)]
    counts = sig["model"].value_counts()
    order = [m for m in models if counts.get(m, 0) >= 2]
    if not order:
        return None
    sig = sig[sig["model"].isin(order)]
    scale = spread.reindex(sig["model"]).to_numpy(dtype=float)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    frame = pd.DataFrame({"model": sig["model"].to_numpy(), "scaled": sig["score"].to_numpy(dtype=float) / scale,
                          "measured": np.where(sig["effect_log2"].to_numpy() > 0, "up", "down")})
    class_of = _class_of(classes)
    fig, ax = plt.subplots(figsize=(PANEL_IN + 2.2 + label_inches(order), 1.6 + 1.4 * ROW_IN * len(order)),
                           layout="constrained")
    with warnings.catch_warnings():  # one-value or constant groups draw as lines
        warnings.simplefilter("ignore")
        sns.violinplot(data=frame, x="scaled", y="model", hue="measured", hue_order=["up", "down"], order=order,
                       split=True, inner="quart", density_norm="width", cut=0, palette=UP_DOWN_COLOURS,
                       linewidth=0.6, orient="h", ax=ax)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_ylabel("")
    ax.set_xlabel("score / SD of the model's scores (all variants)")
    ax.set_title(f"variants measured with p ≤ {pvalue_max:g}")
    _colour_ticklabels(ax.get_yticklabels(), class_of)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), frameon=False, title="measured")
    _class_legend(fig, order, class_of)
    return fig


def plot_ld_topk(ld: pd.DataFrame, classes: dict | None = None):
    """Fig. 3: fraction of causal SNPs ranked in the top 1, 2 and 3 of their LD block, per ranking
    (the study's highest score first, neg_score, abs_score), against the random expectation.

    Parameters
    ----------
    ld : pandas.DataFrame
        evaluate's ld_topk (``model, group, ranking, top1..3, random_top1..3``).
    classes : dict, optional
        model -> architecture class (bar colours; shade: top 1 darkest).

    Returns
    -------
    matplotlib.figure.Figure or None
        One row of panels per ranking, one column per LD dataset; models sorted by top 1, then top
        2 and top 3, under that ranking; width grows with the number of models.
    """
    if ld is None or ld.empty:
        return None
    class_of = _class_of(classes)
    rankings = [r for r in metrics.LD_RANKINGS if r in set(ld["ranking"])]
    rankings += sorted(set(ld["ranking"]) - set(rankings))
    groups = sorted(ld["group"].unique())
    models = sorted(ld["model"].unique())
    combos = [(ranking, group) for ranking in rankings for group in groups]
    panel = 1.2 + COL_IN * len(models)
    nrows, ncols = panel_grid(len(combos), panel)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * panel + 2.4, nrows * (2.6 + label_inches(models)) + 0.8),
                             squeeze=False, sharey=True, layout="constrained")
    for ax in axes.flat[len(combos):]:
        ax.set_visible(False)
    for index, (ranking, group) in enumerate(combos):
        ax = axes.flat[index]
        sub = ld[(ld["group"] == group) & (ld["ranking"] == ranking)].set_index("model")
        order = sorted(sub.index, key=lambda m: (*(-np.nan_to_num(sub.at[m, f"top{k}"], nan=-1.0)
                                                 for k in metrics.TOPK), m))
        sub = sub.reindex(order)
        x = np.arange(len(order))
        colours = [model_colours({m: class_of.get(m, UNKNOWN)})[m] for m in order]
        for i, k in enumerate(metrics.TOPK):
            offset = (i - 1) * 0.27
            ax.bar(x + offset, sub[f"top{k}"], width=0.27, color=colours, alpha=(1.0, 0.6, 0.3)[i % 3],
                   edgecolor="black", linewidth=0.3)
            ax.scatter(x + offset, sub[f"random_top{k}"], marker="_", s=60, color="black", zorder=3)
        ax.set_xticks(x, order, rotation=90)
        ax.set_ylim(0, 1.05)
        ax.set_title("\n".join(textwrap.wrap(f"{group}: {LD_TITLES.get(ranking, ranking)}",
                                             max(20, int(panel / CHAR_IN)))))
        if index % ncols == 0:
            ax.set_ylabel("fraction of causal SNPs")
    shades = [plt.Rectangle((0, 0), 1, 1, facecolor="#555555", alpha=a, edgecolor="black", linewidth=0.3)
              for a in (1.0, 0.6, 0.3)]
    tick = plt.Line2D([], [], color="black", marker="_", linestyle="", markersize=10)
    fig.legend([*shades, tick], [f"top {k}" for k in metrics.TOPK] + ["random expectation"],
               loc="outside right upper", frameon=False)
    _class_legend(fig, models, class_of)
    return fig


def plot_enhancer_detection(training: pd.DataFrame, corr_by_cell: pd.DataFrame | None = None,
                            classes: dict | None = None):
    """auROC, auPRC and F1 per model on held-out sequences, one panel per cell line.

    Parameters
    ----------
    training : pandas.DataFrame
        evaluate's enhancer_detection (``model, cell_line, split, auroc, auprc, f1``).
    corr_by_cell : pandas.DataFrame, optional
        correlation_by_cell_line: each model's Pearson r of variant scores with measured effects
        in that cell line, overlaid on a second axis (good enhancer detection need not mean good
        variant-effect prediction).
    classes : dict, optional
        model -> architecture class (tick-label colours).

    Returns
    -------
    matplotlib.figure.Figure or None
        Models sorted by auROC per cell line; width grows with the number of models.
    """
    if training is None or training.empty:
        return None
    class_of = _class_of(classes)
    data = training[training["split"] == "test"] if (training["split"] == "test").any() else training
    cells = sorted(data["cell_line"].unique())
    models = sorted(data["model"].unique())
    panel = 2.4 + COL_IN * len(models)
    nrows, ncols = panel_grid(len(cells), panel)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * panel, nrows * (2.8 + label_inches(models)) + 0.6),
                             squeeze=False, layout="constrained")
    for ax in axes.flat[len(cells):]:
        ax.set_visible(False)
    for ax, cell in zip(axes.flat, cells):
        sub = data[data["cell_line"] == cell].groupby("model")[list(METRIC_SHADES)].mean()
        order = ranked(sub["auroc"])
        sub = sub.reindex(order)
        x = np.arange(len(order))
        for i, (metric, shade) in enumerate(METRIC_SHADES.items()):
            ax.bar(x + (i - 1) * 0.27, sub[metric], width=0.27, color=shade, edgecolor="black", linewidth=0.3,
                   label=metric if ax is axes[0][0] else None)
        ax.set_xticks(x, order, rotation=90)
        _colour_ticklabels(ax.get_xticklabels(), class_of)
        ax.set_ylim(0, 1.05)
        ax.set_title(cell)
        ax.set_ylabel("held-out test set")
        if corr_by_cell is not None and not corr_by_cell.empty:
            r = corr_by_cell[corr_by_cell["group"] == cell].set_index("model")["pearson_r"]
            xs = [i for i, m in enumerate(order) if m in r.index and np.isfinite(r[m])]
            if xs:
                twin = ax.twinx()
                twin.plot(xs, [r[order[i]] for i in xs], "kD", markersize=5,
                          label="Pearson r (variants, right axis)" if ax is axes[0][0] else None)
                twin.axhline(0, color="0.6", linewidth=0.8, linestyle=":")
                lim = max(0.1, float(np.nanmax(np.abs(r.to_numpy(dtype=float)))) * 1.2)
                twin.set_ylim(-lim, lim)
                twin.set_ylabel("Pearson r, variant score vs effect")
                twin.spines["right"].set_visible(True)
    handles, labels = [], []
    for ax in fig.axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels), frameon=False)
    return fig


def plot_model_comparison(comparison: pd.DataFrame, model_order=None):
    """Model x model heatmaps over all variants pooled: Pearson r difference (row minus column), with
    Steiger test stars from the BH-adjusted p (* < 0.05, ** < 0.01, *** < 0.001), and the Spearman
    difference with its paired-bootstrap interval excluding 0 marked by a dot.

    Parameters
    ----------
    comparison : pandas.DataFrame
        evaluate's model_comparison table.
    model_order : list of str, optional
        Row and column order (best model first); models not in it follow by name.

    Returns
    -------
    matplotlib.figure.Figure or None
        The two heatmaps one above the other, each 0.3 in per model.
    """
    if comparison is None or comparison.empty:
        return None
    sub = comparison[comparison["level"] == "overall"]
    if sub.empty:
        sub = comparison[comparison["group"] == sorted(comparison["group"].unique())[0]]
    models = [m for m in (model_order or []) if m in set(sub["model_a"]) | set(sub["model_b"])]
    models += sorted((set(sub["model_a"]) | set(sub["model_b"])) - set(models))
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
    side = max(3.0, 0.3 * len(models))
    margin = label_inches(models)
    fig, axes = plt.subplots(2, 1, figsize=(side + margin + 1.6, 2 * (side + margin) + 0.8), squeeze=False,
                             layout="constrained")
    panels = ((axes[0][0], pearson, stars, "Pearson r: row − column\n(* BH-adjusted Steiger p)"),
              (axes[1][0], spearman, dots, "Spearman ρ: row − column\n(• 95 % CI excludes 0)"))
    for ax, grid, marks, title in panels:
        limit = float(np.nanmax(np.abs(grid.to_numpy()))) if np.isfinite(grid.to_numpy()).any() else 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            sns.heatmap(grid.astype(float), ax=ax, cmap="RdBu_r", center=0, vmin=-limit, vmax=limit,
                        annot=marks.to_numpy(), fmt="", linewidths=0.5, annot_kws={"fontsize": 7},
                        xticklabels=True, yticklabels=True, square=True, cbar_kws={"shrink": 0.7})
        ax.set_title(f"{sub['group'].iloc[0]}: {title}", fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
    return fig


def plot_finetuned_arrows(pairs: pd.DataFrame):
    """Arrows from each one-shot model to its fine-tuned counterpart: F1 of enhancer detection
    beside Pearson and Spearman r, one row of panels per cell line and overall.

    Parameters
    ----------
    pairs : pandas.DataFrame
        evaluate's finetuned_vs_oneshot (``oneshot, finetuned, group, level, f1_*, pearson_r_*,
        spearman_r_*``).

    Returns
    -------
    matplotlib.figure.Figure or None
        Panels F1 | Pearson r | Spearman ρ; one y row per pair; height grows with the pairs.
    """
    if pairs is None or pairs.empty:
        return None
    sub = pairs[pairs["level"] != "dataset"]
    if sub.empty:
        sub = pairs
    sub = sub.assign(label=sub["oneshot"] + "\n→ " + sub["finetuned"])
    is_overall = sub["level"] == "overall"
    groups = sorted(sub.loc[~is_overall, "group"].unique()) + sorted(sub.loc[is_overall, "group"].unique())
    labels = sorted(set(sub["label"]))
    stats = (("f1", "F1 (enhancer detection)"), ("pearson_r", "Pearson r"), ("spearman_r", "Spearman ρ"))
    fig, axes = plt.subplots(len(groups), len(stats), squeeze=False, sharey=True, sharex="col",
                             figsize=(len(stats) * 2.6 + label_inches(part for x in labels for part in x.split("\n")),
                                      0.9 + len(groups) * (0.9 + 0.5 * len(labels))), layout="constrained")
    for row, group in enumerate(groups):
        g = sub[sub["group"] == group]
        for col, (stat, name) in enumerate(stats):
            ax = axes[row, col]
            for r in g.itertuples(index=False):
                y = labels.index(r.label)
                start, end = float(getattr(r, f"{stat}_oneshot")), float(getattr(r, f"{stat}_finetuned"))
                if np.isfinite(start) and np.isfinite(end):
                    ax.annotate("", xy=(end, y), xytext=(start, y),
                                arrowprops={"arrowstyle": "-|>", "color": "#23395b", "lw": 1.4})
                ax.scatter([start], [y], color="#bbbbbb", edgecolor="black", zorder=3, s=25)
                ax.scatter([end], [y], color="#d95f02", edgecolor="black", zorder=3, s=25)
            if stat != "f1":
                ax.axvline(0, color="black", linewidth=0.5)
            ax.set_yticks(range(len(labels)), labels)
            ax.set_ylim(len(labels) - 0.4, -0.6)
            ax.set_title(f"{group}: {name}")
            if row == len(groups) - 1:
                ax.set_xlabel(name)
    handles = [plt.Line2D([], [], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="black")
               for c in ("#bbbbbb", "#d95f02")]
    fig.legend(handles, ["one-shot", "fine-tuned"], loc="outside upper center", ncol=2, frameon=False)
    return fig


LOCUS_COL_IN = 0.2  # inches per variant column of a locus' rank heatmap (a rotated 9-pt label needs ~0.15)
MAX_LOCUS_LABELS = 60  # variant labels under a locus' heatmap up to this many variants; beyond, positions only
LOCUS_COLOURS = {"lead": "#d62728", "top": "#23395b", "other": "#a0a0a0"}


def plot_locus(ranked: pd.DataFrame, classes: dict | None = None, top: int = 3):
    """One locus: a lollipop of the consensus rank by position (lead SNP marked), and every model's ranks.

    Parameters
    ----------
    ranked : pandas.DataFrame
        The rows of one locus of ``rank``'s ``<dataset>.ranked.tsv`` (one per variant and model:
        ``variant_id, snp_id, chrom, pos, is_lead, model, rank, n_ranked, mean_rank, consensus_rank``).
    classes : dict, optional
        model -> architecture class (model labels coloured by it).
    top : int
        Variants marked as the top candidates (consensus rank <= ``top``).

    Returns
    -------
    matplotlib.figure.Figure or None
        Top panel: each variant's mean rank over the models (1 = top, up) at its position (kb from
        the lead SNP, else from the locus' first variant), stems from the lowest rank; the lead a
        red diamond, the top candidates dark. Bottom panel: models (rows, sorted by agreement with
        the consensus: mean |rank - mean rank|, smallest first) x variants (columns, in position
        order, named by SNP ID, the lead's in red), colour = the model's rank. Height grows with the
        models, width with the variants (up to ``MAX_WIDTH_IN``). None for an empty table.
    """
    if ranked is None or ranked.empty or not ranked["rank"].notna().any():
        return None
    class_of = _class_of(classes)
    rows = ranked.dropna(subset=["rank"])
    variants = (rows.drop_duplicates("variant_id").sort_values(["pos", "variant_id"], kind="stable")
                .reset_index(drop=True))
    lead = variants[variants["is_lead"] == 1]
    origin = int(lead["pos"].iloc[0]) if len(lead) else int(variants["pos"].iloc[0])
    x = (variants["pos"].to_numpy(dtype=float) - origin) / 1000
    n_var = len(variants)
    worst = float(rows["n_ranked"].max())
    grid = rows.pivot_table(index="model", columns="variant_id", values="rank", aggfunc="min")
    grid = grid.reindex(columns=variants["variant_id"])
    spread = (grid - variants.set_index("variant_id")["mean_rank"]).abs().mean(axis=1)
    models = sorted(grid.index, key=lambda m: (float(np.nan_to_num(spread[m], nan=np.inf)), str(m)))
    grid = grid.reindex(models)
    labels = [s if isinstance(s, str) and s not in ("", ".") else v  # the SNP's ID, else the variant_id
              for s, v in zip(variants["snp_id"].fillna(""), variants["variant_id"])]
    named = n_var <= MAX_LOCUS_LABELS
    width = min(MAX_WIDTH_IN, max(6.0, LOCUS_COL_IN * n_var + label_inches(models) + 1.6))
    heat_h = 0.6 + ROW_IN * len(models) + (label_inches(labels) if named else 0.4)
    fig, (top_ax, heat_ax) = plt.subplots(2, 1, figsize=(width, 2.8 + heat_h),
                                          height_ratios=[2.4, heat_h], layout="constrained")
    kind = np.where(variants["is_lead"] == 1, "lead",
                    np.where(variants["consensus_rank"] <= top, "top", "other"))
    y = variants["mean_rank"].to_numpy(dtype=float)
    top_ax.vlines(x, worst + 0.5, y, color=[LOCUS_COLOURS[k] for k in kind], linewidth=1.0)
    names = {"lead": "lead SNP", "top": f"top {top} by consensus", "other": "other variants"}
    for k, marker, size in (("other", "o", 22), ("top", "o", 36), ("lead", "D", 52)):
        sel = kind == k
        if k == "lead" and not sel.any():
            continue
        top_ax.scatter(x[sel], y[sel], color=LOCUS_COLOURS[k], marker=marker, s=size, edgecolor="black",
                       linewidth=0.4, zorder=3, label=names[k])
    if len(lead):  # a lead ranked in the top candidates keeps its diamond, ringed as a top candidate
        ring = (variants["is_lead"] == 1) & (variants["consensus_rank"] <= top)
        top_ax.scatter(x[ring], y[ring], facecolor="none", edgecolor=LOCUS_COLOURS["top"], marker="o", s=140,
                       linewidth=1.2, zorder=4)
    top_ax.set_ylim(worst + 0.5, 1 - 0.06 * worst)
    top_ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    top_ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    chrom = str(variants["chrom"].iloc[0])
    top_ax.set_xlabel(f"kb from the lead SNP ({chrom}:{origin})" if len(lead) else f"kb from {chrom}:{origin}")
    top_ax.set_ylabel("mean rank\nover models")
    top_ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=3, frameon=False, fontsize=8)
    cmap = plt.get_cmap("viridis_r").with_extremes(bad="#eeeeee")
    image = heat_ax.imshow(np.ma.masked_invalid(grid.to_numpy(dtype=float)), cmap=cmap, vmin=1, vmax=max(worst, 2),
                           aspect="auto", interpolation="nearest")
    heat_ax.set_yticks(range(len(models)), models)
    _colour_ticklabels(heat_ax.get_yticklabels(), class_of)
    if named:
        heat_ax.set_xticks(range(n_var), labels, rotation=90)
        for tick, is_lead in zip(heat_ax.get_xticklabels(), variants["is_lead"]):
            if is_lead == 1:
                tick.set_color(LOCUS_COLOURS["lead"])
                tick.set_fontweight("bold")
        heat_ax.set_xlabel("variants in position order")
    else:
        heat_ax.set_xticks([])
        heat_ax.set_xlabel(f"{n_var} variants in position order")
    heat_ax.spines[:].set_visible(False)
    fig.colorbar(image, ax=heat_ax, shrink=min(1.0, 2.5 / heat_h), label="rank (1 = top)")
    return fig
