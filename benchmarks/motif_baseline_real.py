"""JASPAR motif baseline on the published saturation-mutagenesis elements (no genome needed).

Each element's reference is rebuilt from its table (every position lists its reference base); the
score of a variant is motif-set output(alt element) − output(ref element). SORT1 is scored with the
HepG2 motif set against its liver (HepG2) effects; the three Hela_* elements with the HeLa set
against their HeLa effects. Prints one row per element: n, Pearson/Spearman r with 95 % bootstrap
intervals (regvarbench.metrics.correlate, 1000 resamples, seed 0).

Usage: .venv/bin/python benchmarks/motif_baseline_real.py [PUBLISHED_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from regvarbench import metrics
from regvarbench.io import open_text
from regvarbench.models import load_model
from regvarbench.models.motif import build_spec
from regvarbench.variants.prepare import DatasetSpec, prepare_dataset

ROOT = Path(__file__).resolve().parents[1]


def rebuild_element(pos: np.ndarray, ref: np.ndarray) -> tuple[int, str]:
    """(first position, sequence) from per-row positions and reference bases; checks consistency."""
    table = pd.DataFrame({"pos": pos, "ref": ref}).drop_duplicates()
    if table["pos"].duplicated().any():
        raise ValueError("a position lists two reference bases")
    table = table.sort_values("pos")
    if not np.array_equal(table["pos"].to_numpy(), np.arange(table["pos"].iloc[0], table["pos"].iloc[0] + len(table))):
        raise ValueError("element positions are not contiguous")
    return int(table["pos"].iloc[0]), "".join(table["ref"])


def score_element(adapter, pos: np.ndarray, ref: np.ndarray, alt: np.ndarray) -> np.ndarray:
    start, element = rebuild_element(pos, ref)
    alts = [element[:o] + a + element[o + 1:] for o, a in zip(pos - start, alt)]
    out = adapter.predict([element] + alts)
    return out[1:] - out[0]


def hela_table(path: Path) -> pd.DataFrame:
    """Hela_* tables (CR line ends, hg19): coordinate, Reference, Substitution, HeLa effect size."""
    with open_text(path) as fh:
        raw = pd.read_csv(fh, dtype=str, keep_default_na=False)
    raw.columns = [c.strip() for c in raw.columns]
    effect = pd.to_numeric(raw["HeLa effect size"], errors="coerce")
    return pd.DataFrame({"pos": raw["coordinate (hg19)"].astype(int), "ref": raw["Reference"].str.upper(),
                         "alt": raw["Substitution"].str.upper(), "effect": effect})


def main(published: Path) -> None:
    exp = published / "experimental"
    models = {cell: load_model(build_spec(cell)) for cell in ("HepG2", "HeLa")}
    for cell, m in models.items():
        print(f"# {cell}: " + ", ".join(f"{x['name']}={x['matrix_id']}" for x in m.spec["motifs"])
              + f" ({m.spec['jaspar_release']})")
    rows = []
    sort1 = prepare_dataset(DatasetSpec("SORT1", "HepG2", "kircher2019_satmut", exp / "SORT1.csv"), None).variants
    score = score_element(models["HepG2"], sort1["pos"].to_numpy(), sort1["ref"].to_numpy(), sort1["alt"].to_numpy())
    rows.append({"element": "SORT1", "motif_set": "HepG2", **metrics.correlate(score, sort1["effect_log2"], 1000, 0)})
    for path in sorted(exp.glob("Hela_*.csv")):
        t = hela_table(path)
        t = t[t["ref"].str.len().eq(1) & t["alt"].str.len().eq(1)]
        score = score_element(models["HeLa"], t["pos"].to_numpy(), t["ref"].to_numpy(), t["alt"].to_numpy())
        rows.append({"element": path.stem, "motif_set": "HeLa", **metrics.correlate(score, t["effect"], 1000, 0)})
    table = pd.DataFrame(rows)[["element", "motif_set", "n", "pearson_r", "pearson_ci_low", "pearson_ci_high",
                                "spearman_r", "spearman_ci_low", "spearman_ci_high"]]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "published")
