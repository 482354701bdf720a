"""Variant scoring: sign follows the motif, eps policy, dedup, chunking invariance, input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from regvarbench import cli
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.models import Adapter, cnn, load_model
from regvarbench.score import SCORE_COLUMNS, parse_windows_name, read_windows, score_windows, variant_score

MOTIF = "TGACTCA"
LENGTH = 101  # variant at index 50


def save_motif_model(path) -> str:
    """Hand-set motif scanner: logit +3 where the motif occurs, -3 elsewhere (see test_models)."""
    spec = {"model_name": "motif_toy", "architecture": "motif_scan", "input_length": LENGTH,
            "hyperparameters": {"filters": 1, "kernel_size": len(MOTIF)}}
    model = cnn.build_model(spec)
    with torch.no_grad():
        model.conv.weight.copy_(cnn.encode([MOTIF]).float())
        model.conv.bias.fill_(-6.0)
        model.linear.weight.fill_(6.0)
        model.linear.bias.fill_(-3.0)
    return str(cnn.save_model(path, model, spec))


def random_dna(rng: np.random.Generator, length: int) -> str:
    while True:
        seq = "".join(rng.choice(list("ACGT"), length))
        if MOTIF not in seq:
            return seq


def windows_table(rows: list[tuple[str, str, str]], dataset: str = "toy") -> pd.DataFrame:
    return pd.DataFrame([{"variant_id": f"{dataset}:{i}", "dataset": dataset, "cell_line": "HepG2",
                          "ref_seq": ref, "alt_seq": alt, "n_padded": 0} for i, (ref, alt, _) in enumerate(rows)])


def test_variant_score_epsilon_policy():
    assert variant_score(0.5, 0.25) == -1.0  # the default is the study's score: no epsilon
    assert not np.isfinite(variant_score(0.0, 1.0)) and np.isnan(variant_score(0.0, 0.0))  # dropped, counted
    eps = "log2ratio_eps"  # the epsilon variant, by its own name
    assert variant_score(0.5, 0.25, eps) == pytest.approx(np.log2((0.25 + 1e-6) / (0.5 + 1e-6)))
    assert variant_score(0.0, 0.0, eps) == 0.0
    assert np.isfinite(variant_score(0.0, 1.0, eps)) and variant_score(0.0, 1.0, eps) == pytest.approx(np.log2(1 / 1e-6))
    assert variant_score(np.array([0.2, 0.8]), np.array([0.8, 0.2])).dtype == np.float64


def test_score_sign_follows_the_motif(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(5):
        bg = random_dna(rng, LENGTH)
        with_motif = bg[:47] + MOTIF + bg[54:]          # motif over the centre, its 'C' at index 50
        broken = with_motif[:50] + "G" + with_motif[51:]  # the variant destroys the motif
        rows += [(with_motif, broken, "down"), (broken, with_motif, "up")]
        neutral_alt = bg[:50] + ("A" if bg[50] != "A" else "T") + bg[51:]
        if MOTIF not in neutral_alt:
            rows.append((bg, neutral_alt, "none"))
    path = write_tsv(windows_table(rows), tmp_path / "toy.windows.0.tsv")
    rc = cli.main(["score", "--model", save_motif_model(tmp_path / "motif_toy__HepG2"), "--windows", str(path),
                   "--outdir", str(tmp_path / "scores")])
    assert rc == 0
    scores = read_tsv(tmp_path / "scores" / "motif_toy.toy.0.scores.tsv")
    assert list(scores.columns) == SCORE_COLUMNS
    assert (scores["model"] == "motif_toy").all() and scores["variant_id"].tolist() == [f"toy:{i}" for i in range(len(rows))]
    expected = np.array([r[2] for r in rows])
    assert (scores.loc[expected == "down", "score"] < -3).all()
    assert (scores.loc[expected == "up", "score"] > 3).all()
    assert (scores.loc[expected == "none", "score"].abs() < 1e-9).all()
    np.testing.assert_allclose(scores["score"], variant_score(scores["ref_output"], scores["alt_output"]), rtol=1e-9)


class CountingAdapter(Adapter):
    """A real adapter that also records how many sequences each predict call receives."""

    def __init__(self, adapter) -> None:
        self.inner, self.name, self.spec, self.calls = adapter, adapter.name, adapter.spec, []

    def predict(self, seqs, batch_size=None):
        self.calls.append(len(seqs))
        return self.inner.predict(seqs, batch_size=batch_size)


def saturation_windows(n_refs: int = 4, length: int = 120, seed: int = 0) -> pd.DataFrame:
    """Saturation mutagenesis around the centre: every window of a reference shares its ref_seq."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_refs):
        ref = "".join(rng.choice(list("ACGT"), length))
        for offset in range(-5, 6):
            pos = length // 2 + offset
            for base in "ACGT":
                if base != ref[pos]:
                    alt = ref[:pos] + base + ref[pos + 1:]
                    rows.append((ref, alt, ""))
    return windows_table(rows, dataset="satmut")


def test_each_distinct_sequence_is_predicted_once():
    windows = saturation_windows()
    adapter = CountingAdapter(load_model({"model_name": "rand", "architecture": "cnn_small", "input_length": 120}))
    scores = score_windows(adapter, windows, batch_size=64)
    assert len(scores) == 4 * 11 * 3 and adapter.calls == [4 + 4 * 11 * 3]
    assert scores["ref_output"].dtype == np.float64 and scores["score"].notna().all()


def test_scores_do_not_depend_on_chunking(tmp_path):
    windows = saturation_windows(n_refs=6)
    model_dir = cnn.save_model(tmp_path / "rand__HepG2", load_model(
        {"model_name": "rand", "architecture": "cnn_small", "input_length": 120, "seed": 1}).model,
        {"model_name": "rand", "architecture": "cnn_small", "input_length": 120, "cell_line": "HepG2"})
    outputs = {}
    for size in (7, 1000):
        wdir = tmp_path / f"w{size}"
        paths = [str(write_tsv(windows.iloc[i:i + size], wdir / f"satmut.windows.{i // size}.tsv"))
                 for i in range(0, len(windows), size)]
        assert cli.main(["score", "--model", str(model_dir), "--windows", *paths, "--batch-size", "64",
                         "--outdir", str(tmp_path / f"s{size}")]) == 0
        parts = [(tmp_path / f"s{size}" / f"rand.satmut.{k}.scores.tsv").read_bytes().split(b"\n", 1)
                 for k in range(len(paths))]
        outputs[size] = parts[0][0] + b"\n" + b"".join(body for _, body in parts)
    assert outputs[7] == outputs[1000]
    assert len(outputs[7].splitlines()) == len(windows) + 1
    # the model really discriminates the windows (identical bytes are not a constant column)
    assert read_tsv(tmp_path / "s1000" / "rand.satmut.0.scores.tsv")["score"].nunique() > 10


def test_bad_windows_raise_input_error(tmp_path):
    windows = saturation_windows(n_refs=1)
    bad = write_tsv(windows.drop(columns=["alt_seq"]), tmp_path / "bad.windows.0.tsv")
    with pytest.raises(InputError, match="'alt_seq'"):
        read_windows(bad)
    model_dir = save_motif_model(tmp_path / "motif_toy__HepG2")
    assert cli.main(["score", "--model", model_dir, "--windows", str(bad), "--outdir", str(tmp_path / "o")]) == 2
    with pytest.raises(InputError, match="windows"):
        parse_windows_name(tmp_path / "satmut.tsv")
    unequal = windows.copy()
    unequal.loc[0, "alt_seq"] = unequal.loc[0, "alt_seq"][:-1]
    with pytest.raises(InputError, match="differ in length"):
        read_windows(write_tsv(unequal, tmp_path / "uneq.windows.0.tsv"))
    assert parse_windows_name("a.b.windows.12.tsv") == ("a.b", "12")


@pytest.mark.parametrize("precision", ["auto", "fp32", "fp64"])
def test_scores_do_not_depend_on_batch_composition(precision):
    """A sequence's output is the same bits whatever shares its (fixed-size, padded) batch."""
    from regvarbench.score import set_precision

    rng = np.random.default_rng(3)
    seqs = [random_dna(rng, LENGTH) for _ in range(40)]
    for spec in ({"architecture": "cnn_small", "input_length": LENGTH, "seed": 3},  # folded, channels-last
                 {"architecture": "deepsea_like", "input_length": LENGTH, "seed": 3,  # the network's own forward
                  "hyperparameters": {"channels": [8, 8, 8], "dense": 8, "kernel_sizes": [5, 5, 5],
                                      "pool_sizes": [2, 2]}}):
        adapter = load_model(spec)
        set_precision(adapter, precision)
        whole = adapter.predict(seqs, batch_size=16)
        assert np.array_equal(whole[::-1], adapter.predict(seqs[::-1], batch_size=16))
        assert np.array_equal(whole[5:12], adapter.predict(seqs[5:12], batch_size=16))
        assert np.array_equal(whole[[30, 2, 17]], adapter.predict([seqs[i] for i in (30, 2, 17)], batch_size=16))


def test_fp32_agrees_with_fp64():
    windows = saturation_windows(n_refs=2)
    adapter = load_model({"model_name": "rand", "architecture": "cnn_small", "input_length": 120, "seed": 5})
    exact = score_windows(adapter, windows)
    assert adapter.set_precision("fp32") == "fp32" and next(adapter.model.parameters()).dtype == torch.float32
    fast = score_windows(adapter, windows)
    np.testing.assert_allclose(fast["ref_output"], exact["ref_output"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fast["score"], exact["score"], rtol=0, atol=1e-5)
    assert not np.array_equal(fast["ref_output"], exact["ref_output"])  # really computed in another precision


def test_bf16_autocast_runs_close_to_fp32():
    """bf16 works everywhere (emulated, slowly, on CPUs without native bf16), to bf16's ~3 digits."""
    windows = saturation_windows(n_refs=1)
    adapter = load_model({"model_name": "rand", "architecture": "cnn_small", "input_length": 120, "seed": 5})
    adapter.set_precision("fp32")
    fp32 = score_windows(adapter, windows)
    adapter.set_precision("bf16")
    bf16 = score_windows(adapter, windows)
    np.testing.assert_allclose(bf16["ref_output"], fp32["ref_output"], rtol=0, atol=0.05)
    assert bf16["score"].notna().all()


def test_precision_choice():
    from regvarbench.models.precision import MEETS_BUDGET, cpu_native_bf16, resolve_precision, speed_order

    # injected capability strings: native bf16 needs AVX-512 plus AVX-512 BF16 or AMX
    assert not cpu_native_bf16("AVX2", [])
    assert not cpu_native_bf16("AVX2", ["avx512_bf16"])
    assert not cpu_native_bf16("AVX512", [])
    assert cpu_native_bf16("AVX512", ["avx512_bf16"]) and cpu_native_bf16("AVX512", ["AMX_BF16"])
    assert speed_order("cpu", "AVX2", []) == ("fp32", "fp64")
    assert speed_order("cpu", "AVX512", ["amx_bf16"]) == ("bf16", "fp32", "fp64")
    # auto: the fastest precision that meets the accuracy budget; bf16 is faster with AMX but misses it
    assert "bf16" not in MEETS_BUDGET and "fp16" not in MEETS_BUDGET
    assert resolve_precision("auto", "cpu", "AVX2", []) == "fp32"
    assert resolve_precision("auto", "cpu", "AVX512", ["amx_bf16"]) == "fp32"
    assert resolve_precision("bf16", "cpu", "AVX2", []) == "bf16"  # by name, anywhere
    assert resolve_precision("fp64", "cpu", "AVX512", ["amx_bf16"]) == "fp64"
    assert resolve_precision("auto", "cpu") == "fp32"  # this machine, whatever its CPU
    if torch.backends.cpu.get_cpu_capability() == "AVX2":
        assert not cpu_native_bf16()
    with pytest.raises(InputError, match="--precision"):
        resolve_precision("fp8", "cpu")


def test_precision_and_device_options(tmp_path, capsys):
    windows = saturation_windows(n_refs=1)
    path = write_tsv(windows, tmp_path / "satmut.windows.0.tsv")
    model_dir = save_motif_model(tmp_path / "motif_toy__HepG2")
    with pytest.raises(SystemExit) as exc:
        cli.main(["score", "--model", model_dir, "--windows", str(path), "--precision", "fp8", "--outdir", str(tmp_path)])
    assert exc.value.code == 2 and "--precision" in capsys.readouterr().err
    for precision in ("fp32", "fp64"):
        assert cli.main(["score", "--model", model_dir, "--windows", str(path), "--precision", precision,
                         "--device", "cpu", "--outdir", str(tmp_path / precision)]) == 0
    a, b = (read_tsv(tmp_path / p / "motif_toy.satmut.0.scores.tsv") for p in ("fp32", "fp64"))
    np.testing.assert_allclose(a["score"], b["score"], rtol=0, atol=1e-5)
    if not torch.cuda.is_available():
        assert cli.main(["score", "--model", model_dir, "--windows", str(path), "--device", "cuda",
                         "--outdir", str(tmp_path / "gpu")]) == 2


def test_budget_figures_count_collapsed_scores_and_rank_agreement():
    from regvarbench.models.precision import BUDGET_SPEARMAN, budget_figures

    rng = np.random.default_rng(0)
    exact = rng.normal(0, 1e-3, 500)
    same = budget_figures(exact, exact + 1e-12 * rng.normal(size=500))
    assert same["meets_budget"] and same["collapsed_to_zero"] == 0 and same["spearman"] > BUDGET_SPEARMAN
    rounded = np.round(exact / 4e-4) * 4e-4  # bf16-like steps: small scores become exactly 0
    figures = budget_figures(exact, rounded)
    assert figures["collapsed_to_zero"] == int(np.sum((rounded == 0) & (exact != 0))) > 0
    assert not figures["meets_budget"] and figures["spearman"] < BUDGET_SPEARMAN
    assert figures["max_abs_diff"] == pytest.approx(np.abs(rounded - exact).max())
    with pytest.raises(ValueError):
        budget_figures(exact, exact[:10])
