"""figures: every figure of the report, drawn by real matplotlib from real evaluate tables of 3 and
of 30 synthetic models, is legible (no two labels overlap), grows with the number of models, sorts
models by its metric and colours them by architecture class."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from regvarbench import evaluate, rank
from regvarbench.io import write_tsv
from regvarbench.report import draw_figures, load_tables, per_cell_table, top_per_class
from regvarbench.report import figures

pytestmark = pytest.mark.filterwarnings("ignore:More than 20 figures:RuntimeWarning")  # 2 runs x 10 held open
CLASSES = ("cnn", "transformer", "hybrid", "baseline")
LONG = "nucleotide-transformer-v2-500m-multi-species"  # the longest kind of name the study has
CATALOGUE = Path(__file__).resolve().parents[2] / "assets" / "models.csv"


def model_names(n: int) -> list[str]:
    """n model names: some as long as the study's, one one-shot twin of the first model."""
    names = [f"{LONG}-{i:02d}" if i % 5 == 0 else f"model_{i:02d}" for i in range(n - 1)]
    return names + [f"{names[0]}_oneshot"]


def write_run(root: Path, n_models: int, with_npc: bool = True) -> Path:
    """Evaluate n synthetic models over three cell lines (NPC optional), an LD-block dataset and
    enhancer detection; returns evaluate's tables directory."""
    rng = np.random.default_rng(n_models)
    root.mkdir(parents=True, exist_ok=True)
    datasets = {"hepg2.sign.id.LP190708": ("HepG2", 80), "k562_mpra": ("K562", 60), "ldK": ("K562", 20)}
    if with_npc:
        datasets["npc_mpra"] = ("NPC", 40)
    models = model_names(n_models)
    variants, scores, training = [], [], []
    for ds, (cell, n) in datasets.items():
        ids = [f"{ds}:{i}" for i in range(n)]
        ld = ds.startswith("ld")
        effect = np.full(n, np.nan) if ld else rng.normal(size=n)
        v = pd.DataFrame({"variant_id": ids, "dataset": ds, "cell_line": cell, "effect_log2": effect,
                          "pvalue": np.nan if ld else rng.uniform(0, 1, n) ** 10})
        if ld:
            v = v.assign(block_id=np.repeat([f"b{i}" for i in range(4)], 5), is_causal=[1, 0, 0, 0, 0] * 4)
        variants.append(str(write_tsv(v, root / f"{ds}.variants.tsv")))
        for k, model in enumerate(models):
            signal = np.nan_to_num(effect) if not ld else np.tile([2.0, 0, 0, 0, 0], 4) * (k % 3 - 1)
            s = pd.DataFrame({"variant_id": ids, "dataset": ds, "model": model,
                              "score": (k % 7) * 0.15 * signal + rng.normal(size=n)})
            scores.append(str(write_tsv(s, root / f"{k}.{ds}.scores.tsv")))
    for model in models:
        cells = sorted({c for c, _ in datasets.values()})
        t = pd.DataFrame({"model": model, "cell_line": cells, "split": "test", "n": 100,
                          "auroc": rng.uniform(0.5, 1, len(cells)), "auprc": rng.uniform(0.5, 1, len(cells)),
                          "f1": rng.uniform(0.4, 1, len(cells))})
        training.append(str(write_tsv(t, root / f"{len(training)}.enhancer_detection.tsv")))
    catalogue = root / "models.csv"
    rows = "".join(f"{m},fam,{CLASSES[i % len(CLASSES)]}\n" for i, m in enumerate(models[:-1]))
    catalogue.write_text("model,family,architecture_class\n" + rows)
    tables = evaluate.evaluate(variants, scores, training, str(catalogue), n_boot=20, seed=0)
    evaluate.write_evaluation(tables, root / "tables")
    return root / "tables"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tables and drawn figures of 3 and of 30 models."""
    out = {}
    for n in (3, 30):
        tables_dir = write_run(tmp_path_factory.mktemp(f"figures{n}"), n)
        t = load_tables(tables_dir)
        out[n] = (t, draw_figures(t), tables_dir)
    yield out
    plt.close("all")


@pytest.fixture(params=[3, 30], ids=["3-models", "30-models"])
def run(request, runs):
    return (request.param, *runs[request.param][:2])


def test_overlap_checker_flags_a_cramped_figure():
    fig, ax = plt.subplots(figsize=(2, 1.2))
    ax.bar(range(30), np.arange(30))
    ax.set_xticks(range(30), [f"{LONG}-{i}" for i in range(30)])  # horizontal, 0.05 in apart
    ax.set_title("a title far too long for so small a figure to hold it", loc="center")
    assert len(figures.text_overlaps(fig)) > 20
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(3), [1, 2, 3])
    ax.set_xticks(range(3), ["a", "b", "c"])
    ax.set_title("room enough")
    assert figures.text_overlaps(fig) == []
    plt.close(fig)


def test_every_figure_drawn_and_legible(run):
    n, t, drawn = run
    assert all(fig is not None for fig in drawn.values()), [k for k, f in drawn.items() if f is None]
    for name, fig in drawn.items():
        assert figures.text_overlaps(fig) == [], (n, name)
        labels = {x.get_text() for x in figures.drawn_labels(fig)}
        if name in ("correlations", "direction_heatmap", "direction_by_threshold", "ld_topk", "enhancer_detection",
                    "model_comparison", "significant_density"):
            # every model is named: labels are never thinned out to fit
            assert set(model_names(n)) <= labels, (n, name)


def test_figures_grow_with_the_number_of_models(runs):
    sizes = {n: {name: tuple(fig.get_size_inches()) for name, fig in drawn.items()}
             for n, (_, drawn, _) in runs.items()}
    fixed = {"significance_scatter", "finetuned_vs_oneshot"}  # one row per class / per pair, not per model
    assert set(sizes[3]) == set(sizes[30])
    for name in set(sizes[3]) - fixed:
        (w3, h3), (w30, h30) = sizes[3][name], sizes[30][name]
        assert w30 * h30 > 1.3 * w3 * h3, name
    for name in ("correlations", "direction_heatmap", "direction_by_threshold", "significant_density"):
        assert sizes[30][name][1] > 2 * sizes[3][name][1], name  # one fixed-height row per model


def colour_of(model: str, t: dict) -> str:
    cls = t["models"].set_index("model").loc[model, "architecture_class"]
    return figures.ARCHITECTURE_COLOURS[cls]


def test_correlation_bars_sorted_and_coloured_by_class(run):
    n, t, drawn = run
    fig = drawn["correlations"]
    fig.canvas.draw()
    corr = pd.concat([t["correlation_by_cell_line"], t["correlation_overall"]])
    panels = [ax for ax in fig.axes if ax.get_title().endswith("Pearson r")]
    assert [ax.get_title().split(":")[0] for ax in panels] == list(dict.fromkeys(corr["group"]))
    for ax in panels:
        group = ax.get_title().split(":")[0]
        names = [x.get_text() for x in ax.get_yticklabels()]
        bars = sorted(ax.patches, key=lambda p: p.get_y())  # top (index 0) first
        widths = [b.get_width() for b in bars]
        assert widths == sorted(widths, reverse=True), group
        expected = corr[corr["group"] == group].set_index("model")["pearson_r"]
        assert widths == pytest.approx(expected.loc[names].to_numpy())
        for name, bar in zip(names, bars):
            assert to_hex(bar.get_facecolor()) == colour_of(name, t), name


def test_architecture_colours_come_from_one_place():
    with open(CATALOGUE, newline="") as fh:
        catalogue_classes = {row["architecture_class"] for row in csv.DictReader(fh)}
    assert catalogue_classes <= set(figures.ARCHITECTURE_COLOURS)
    # a class keeps its colour whichever other classes a run has
    alone = figures.class_palette(["hybrid", "new_kind"])
    together = figures.class_palette(["cnn", "transformer", "hybrid", "baseline", "zeta", "new_kind"])
    assert alone["hybrid"] == together["hybrid"] == figures.ARCHITECTURE_COLOURS["hybrid"]
    assert alone["new_kind"] == together["new_kind"] not in figures.ARCHITECTURE_COLOURS.values()
    assert len(set(together.values())) == len(together)


def test_significance_lines_coloured_by_class(run):
    n, t, drawn = run
    fig = drawn["significance_lines"]
    for line in fig.axes[0].get_lines():
        if line.get_label() in set(t["models"]["model"]):
            assert to_hex(line.get_color()) == colour_of(line.get_label(), t)
    styles = {(ln.get_color(), ln.get_linestyle(), ln.get_marker()) for ln in fig.axes[0].get_lines()
              if ln.get_label() in set(t["models"]["model"])}
    assert len(styles) == n  # models of one class told apart by line style and marker


def test_scatter_has_the_best_model_of_each_class(run):
    n, t, drawn = run
    order = list(t["correlation_overall"].sort_values(["pearson_r", "model"], ascending=[False, True])["model"])
    classes = dict(zip(t["models"]["model"], t["models"]["architecture_class"]))
    leaders = top_per_class(order, classes)
    assert len(leaders) == len(set(classes.values()))
    fig = drawn["significance_scatter"]
    rows = {round(ax.get_position().y0, 4) for ax in fig.axes}
    assert len(rows) == len(leaders)
    assert [ax.get_ylabel().replace("\n", "") for ax in fig.axes if ax.get_ylabel()] == \
        [f"{m}({classes[m]}) score" for m in leaders]


def test_ld_figure_has_the_studys_ranking(run):
    _, t, drawn = run
    fig = drawn["ld_topk"]
    titles = [ax.get_title() for ax in fig.axes]
    assert any("highest score first" in x for x in titles) and any("most negative" in x for x in titles)
    assert any("|score|" in x for x in titles)


def test_direction_heatmap_pools_cell_lines_and_all(run):
    n, t, drawn = run
    assert set(t["direction"]["level"]) == {"dataset", "cell_line", "overall"}
    fig = drawn["direction_heatmap"]
    columns = [x.get_text() for x in fig.axes[0].get_xticklabels()]
    assert columns[0] == "all variants" and {"HepG2", "K562", "NPC", "k562_mpra"} <= set(columns)


def test_finetuned_arrows_show_f1(run):
    _, t, drawn = run
    fig = drawn["finetuned_vs_oneshot"]
    titles = [ax.get_title() for ax in fig.axes]
    assert any("F1" in x for x in titles) and any("Pearson" in x for x in titles)


def test_table_one_has_npc_only_with_npc_data(tmp_path, run):
    _, t, _ = run
    with_npc = per_cell_table(t["correlation_by_cell_line"], t["correlation_overall"])
    assert "NPC pearson" in with_npc["columns"]
    t2 = load_tables(write_run(tmp_path / "no_npc", 3, with_npc=False))
    without = per_cell_table(t2["correlation_by_cell_line"], t2["correlation_overall"])
    assert not any(c.startswith("NPC") for c in without["columns"])
    # one best (bold) and one second (underlined) per column
    cls = [[cell["cls"] for cell in row] for row in with_npc["rows"]]
    for j in range(1, len(with_npc["columns"])):
        column = [row[j] for row in cls]
        assert column.count("best") == 1 and column.count("second") == 1


def test_figures_are_deterministic(tmp_path, runs):
    tables_dir = runs[3][2]
    png = []
    for attempt in range(2):
        drawn = draw_figures(load_tables(tables_dir))
        png.append({name: figures.save_figure(fig, tmp_path / f"out{attempt}", name)
                    for name, fig in drawn.items()})
    assert png[0] == png[1]
    svg = [(tmp_path / f"out{a}" / "direction_heatmap.svg").read_bytes() for a in range(2)]
    assert svg[0] == svg[1]


def ranked_locus(n_models: int, n_variants: int = 14, lead: int = 4) -> pd.DataFrame:
    """rank's table of one LD-export locus: n_variants SNPs over 90 kb, lead SNP rs<lead>, n models."""
    rng = np.random.default_rng(n_models + n_variants)
    pos = np.sort(rng.choice(np.arange(1_000_000, 1_090_000), n_variants, replace=False))
    variants = pd.DataFrame({"variant_id": [f"loc:{i}" for i in range(n_variants)], "dataset": "loc", "chrom": "chr2",
                             "pos": pos, "ref": "A", "alt": "G", "locus_id": f"rs{lead}",
                             "snp_id": [f"rs{i}" for i in range(n_variants)],
                             "is_lead": [int(i == lead) for i in range(n_variants)], "r2": 0.9})
    scores = pd.concat([pd.DataFrame({"variant_id": variants["variant_id"], "model": m,
                                      "score": rng.normal(size=n_variants) + 3 * (variants.index == 2)})
                        for m in model_names(n_models)], ignore_index=True)
    return rank.rank_variants(variants, scores)


@pytest.mark.parametrize("n_models", [3, 30])
@pytest.mark.parametrize("n_variants", [14, 40, 200])
def test_locus_figure_legible_with_the_lead_marked(n_models, n_variants):
    """plot_locus: no overlapping labels with 3 or 30 models and 14 to 200 variants; every model named,
    the lead SNP's label red, the top candidates and the lead in the legend; taller with more models."""
    table = ranked_locus(n_models, n_variants)
    fig = figures.plot_locus(table, {m: CLASSES[i % 4] for i, m in enumerate(model_names(n_models))})
    assert figures.text_overlaps(fig) == [], (n_models, n_variants)
    labels = {t.get_text(): t for t in figures.drawn_labels(fig)}
    assert set(model_names(n_models)) <= set(labels)
    assert {"lead SNP", "top 3 by consensus", "other variants"} <= set(labels)
    if n_variants <= figures.MAX_LOCUS_LABELS:
        assert to_hex(labels["rs4"].get_color()) == figures.LOCUS_COLOURS["lead"]
        assert {f"rs{i}" for i in range(n_variants)} <= set(labels)
    assert fig.get_size_inches()[0] <= figures.MAX_WIDTH_IN
    plt.close(fig)


def test_locus_figure_grows_with_models_and_handles_no_lead():
    heights = [figures.plot_locus(ranked_locus(n)).get_size_inches()[1] for n in (3, 30)]
    assert heights[1] > heights[0] + 20 * figures.ROW_IN
    no_lead = ranked_locus(3).assign(is_lead=0)
    fig = figures.plot_locus(no_lead)
    labels = {t.get_text() for t in figures.drawn_labels(fig)}
    assert "lead SNP" not in labels and figures.text_overlaps(fig) == []
    assert figures.plot_locus(no_lead.iloc[:0]) is None
    plt.close("all")
