"""Published Sei: the architecture against the published sei.pth manifest, the state-dict reader, and
the ``sei`` family adapter (profiles, sequence classes, strands, N, genome flanks, ``regvarbench score``).

Fixtures: tests/fixtures/sei/sei_pth_manifest.json (make_manifest.py, from the published code) and
sei_tiny.pth (make_fixtures.py: Sei at widths 4/4/4 with all 21,907 outputs, published key layout).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.interpolate import splev

from regvarbench import cli
from regvarbench.dna import reverse_complement
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.models import FAMILIES, load_model, write_spec
from regvarbench.models.sei import SEI_OUTPUTS, SEI_PREFIX, Sei, bspline_basis, load_sei, read_sei_state_dict, save_sei
from regvarbench.models.sei_framework import (PROFILE_CELLS, PUBLISHED, SeiAdapter, build_spec, class_index,
                                              select_profiles, sequence_class_names, target_names)
from regvarbench.models.tracks import parse_tracks
from regvarbench.models.weights import MissingWeightsError
from regvarbench.score import SCORE_COLUMNS, score_windows

from .test_models_hf import variant_windows

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "sei"
TINY = FIXTURES / "sei_tiny.pth"
SMALL = {"widths": [8, 8, 8], "n_outputs": 10, "hidden": 6}  # a width-reduced Sei with few outputs


def _random_seqs(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def _spec(**extra) -> dict:
    return {"family": "sei", "model_name": "sei", "cell_line": "HepG2", "tracks": "HepG2:3,7,21906;K562:5",
            "sei_weights": str(TINY), **extra}


def test_full_size_sei_matches_published_manifest():
    manifest = json.loads((FIXTURES / "sei_pth_manifest.json").read_text())
    with torch.device("meta"):  # 0.89 B parameters, no memory
        model = Sei()
    ours = {SEI_PREFIX + k: list(v.shape) for k, v in model.state_dict().items()}
    assert manifest["prefix"] == SEI_PREFIX
    assert list(ours) == list(manifest["keys"])  # every name, in the published order
    assert ours == manifest["keys"]  # every shape
    assert sum(v.numel() for v in model.state_dict().values()) == manifest["parameters"] == 889_979_983
    assert len(target_names()) == SEI_OUTPUTS == manifest["keys"][SEI_PREFIX + "classifier.2.weight"][0]
    assert len(sequence_class_names()) == 40 and sequence_class_names()[26] == "E9 Liver / Intestine"


def test_bspline_basis_is_seis_spline_factory():
    """Sei's basis: cubic B-splines on positions 0..n-1, boundary knots repeated, 12 inner knots at
    evenly spaced percentiles, intercept kept (16 columns); evaluated here with FITPACK's splev."""
    n, df = 256, 16
    x = np.arange(n, dtype=float)
    knots = np.sort(np.r_[[0.0, n - 1.0] * 4, np.percentile(x, 100 * np.linspace(0, 1, df - 2)[1:-1])])
    reference = np.stack([splev(x, (knots, np.eye(df)[i], 3)) for i in range(df)], axis=1)
    ours = bspline_basis(n, df)
    assert ours.shape == (n, df) and np.abs(ours - reference).max() < 1e-12
    np.testing.assert_array_equal(ours.astype(np.float32), reference.astype(np.float32))


def test_width_reduced_sei_saved_with_prefix_loads_strict_and_agrees(tmp_path):
    torch.manual_seed(1)
    model = Sei(**SMALL).eval()
    path = save_sei(model, tmp_path / "small.pth")
    raw = torch.load(path, weights_only=True)
    assert all(k.startswith("module.model.") for k in raw) and len(raw) == 38
    loaded = load_sei(path)
    assert (loaded.widths, loaded.n_outputs, loaded.hidden, loaded.spline_df) == ((8, 8, 8), 10, 6, 16)
    x = torch.from_numpy(np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (3, 4096))]).transpose(1, 2)
    with torch.inference_mode():
        y, y_loaded = model(x), loaded(x)
    assert y.shape == (3, 10) and torch.equal(y, y_loaded)
    assert float(y.std(dim=0).max()) > 0  # outputs depend on the input
    # a Selene training checkpoint holds the same state dict under "state_dict"
    torch.save({"epoch": 3, "state_dict": raw}, tmp_path / "checkpoint.pth.tar")
    assert read_sei_state_dict(tmp_path / "checkpoint.pth.tar").keys() == model.state_dict().keys()


def test_other_layouts_are_refused_by_name(tmp_path):
    torch.manual_seed(0)
    state = Sei(**SMALL).state_dict()
    bare = tmp_path / "bare.pth"
    torch.save(state, bare)  # no module.model. prefix
    with pytest.raises(InputError, match=r"bare.pth: key 'lconv1.0.weight' .* lacks the prefix 'module.model.'"):
        load_sei(bare)
    extra = {SEI_PREFIX + k: v for k, v in state.items()} | {SEI_PREFIX + "norm1.weight": torch.ones(8)}
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(InputError, match=r"not Sei's architecture: 1 unexpected keys, e.g. norm1.weight"):
        load_sei(tmp_path / "extra.pth")
    wrong = {SEI_PREFIX + k: v for k, v in state.items()}
    wrong[SEI_PREFIX + "conv1.0.weight"] = torch.zeros(8, 8, 7)
    torch.save(wrong, tmp_path / "kernel7.pth")
    with pytest.raises(InputError, match=r"shapes differ, e.g. conv1.0.weight \(8, 8, 7\) \(Sei: \(8, 8, 9\)\)"):
        load_sei(tmp_path / "kernel7.pth")
    missing = {k: v for k, v in wrong.items() if "dconv5" not in k} | {SEI_PREFIX + "conv1.0.weight": state["conv1.0.weight"]}
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(InputError, match=r"2 missing keys, e.g. dconv5.1.weight"):
        load_sei(tmp_path / "missing.pth")
    garbage = tmp_path / "sei.pth"
    garbage.write_bytes(b"<html>Zenodo: file not found</html>\n" * 10)
    with pytest.raises(InputError, match=f"{garbage}: not a readable PyTorch state dict"):
        load_sei(garbage)


def test_missing_published_weights_name_model_url_and_path(tmp_path):
    with pytest.raises(MissingWeightsError) as err:
        load_model({"family": "sei", "model_name": "sei", "cell_line": "HepG2", "tracks": "HepG2:1",
                    "weights_dir": str(tmp_path)})
    message = str(err.value)
    assert "model sei" in message and PUBLISHED["sei_weights"] in message and str(tmp_path / "model" / "sei.pth") in message
    assert f"tar -xzf ARCHIVE -C {tmp_path}" in message
    # the archive extracted into the weights directory is where the lookup finds it
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "sei.pth").write_bytes(TINY.read_bytes())
    adapter = load_model({"family": "sei", "cell_line": "HepG2", "tracks": "HepG2:1", "weights_dir": str(tmp_path)})
    assert adapter.spec["sei_sizes"] == {"widths": [4, 4, 4], "hidden": 2, "n_outputs": SEI_OUTPUTS}
    with pytest.raises(InputError, match="expected 0123"):
        load_model(_spec(sei_weights_md5="0123"))


def test_catalogue_row_lists_dnase_and_h3k27ac_profiles_of_each_cell_line():
    with open(ROOT / "assets" / "models.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["model"] == "sei")
    assert (row["family"], row["trainable"], row["kind_of_output"], row["input_length"]) == ("sei", "false", "tracks", "4096")
    assert row["family"] in FAMILIES and "4906996" in row["notes"] and "sei.pth" in row["notes"]
    names = target_names()
    counts = {}
    for cell in PROFILE_CELLS:
        chosen = parse_tracks(row["tracks"], cell)
        assert chosen == select_profiles(cell), cell
        fields = [[f.strip() for f in names[i].split("|")] for i in chosen]
        assert {f[1] for f in fields} == {"DNase", "H3K27ac"}, cell
        label = "Neural_Progenitor" if cell == "NPC" else cell
        assert all(label in f[0] or "Neuronal_Progenitor" in f[0] for f in fields), cell
        counts[cell] = len(chosen)
    assert counts == {"HepG2": 18, "K562": 109, "HeLa": 23, "NPC": 10}
    assert "HeLa-S3 (IFNa4h)" not in {names[i].split(" | ")[0] for i in select_profiles("HeLa")}


def test_adapter_profiles_strands_and_n_padding():
    adapter = load_model(_spec(sei_weights=TINY.as_uri()))  # file:// URL, as a staged download
    assert isinstance(adapter, SeiAdapter) and adapter.input_length == 4096 and adapter.precision == "fp32"
    assert adapter.spec["score_kind"] == "study" and list(adapter.tracks) == [3, 7, 21906]
    seqs = _random_seqs(3, 4096)
    profiles = adapter.predict_profiles(seqs, batch_size=2)  # a short last batch too
    assert profiles.shape == (3, SEI_OUTPUTS) and profiles.dtype == np.float64
    np.testing.assert_array_equal(adapter.predict(seqs), profiles[:, [3, 7, 21906]].mean(axis=1))
    # reference written out: one-hot, both strands through the network, averaged (Selene's NonStrandSpecific)
    x = torch.from_numpy(np.stack([np.eye(4, dtype=np.float32)["ACGT".index(b)] for s in seqs for b in s])
                         .reshape(3, 4096, 4)).transpose(1, 2)
    rc = torch.from_numpy(np.stack([np.eye(4, dtype=np.float32)["ACGT".index(b)] for s in seqs
                                    for b in reverse_complement(s)]).reshape(3, 4096, 4)).transpose(1, 2)
    with torch.inference_mode():
        expected = ((adapter.model(x) + adapter.model(rc)) / 2).double().numpy()
    assert np.abs(profiles - expected).max() < 1e-6
    assert np.abs(profiles - adapter.predict_profiles([reverse_complement(s) for s in seqs])).max() < 1e-6
    single = load_model(_spec(strand_average=False)).predict_profiles(seqs)
    assert np.abs(single - expected).max() > 1e-5  # the two strands differ: averaging is not a no-op
    # a 1 kb window is N-padded around its centre; N is 0.25 in every channel (Selene), not 0
    window = seqs[0][1548:2548]
    padded = "N" * 1548 + window + "N" * 1548
    np.testing.assert_array_equal(adapter.predict([window]), adapter.predict([padded]))
    zero_n = torch.from_numpy(np.stack([np.eye(4, dtype=np.float32)["ACGT".index(b)] if b != "N" else np.zeros(4, np.float32)
                                        for b in padded])).T[None]
    quarter_n = torch.where(zero_n.sum(1, keepdim=True) == 0, torch.full_like(zero_n, 0.25), zero_n)
    with torch.inference_mode():
        as_quarter = ((adapter.model(quarter_n) + adapter.model(quarter_n.flip(1, 2))) / 2)[0, [3, 7, 21906]].mean()
        as_zero = ((adapter.model(zero_n) + adapter.model(zero_n.flip(1, 2))) / 2)[0, [3, 7, 21906]].mean()
    assert adapter.predict([window])[0] == pytest.approx(float(as_quarter), abs=1e-7)
    assert abs(float(as_zero) - float(as_quarter)) > 1e-6
    with pytest.raises(InputError, match="no tracks for cell line 'HeLa'"):
        load_model(_spec(cell_line="HeLa"))


def test_sequence_class_score_from_projection(tmp_path):
    rng = np.random.default_rng(0)
    projection = rng.random((61, SEI_OUTPUTS)).astype(np.float32)  # published: 61 x 21,907
    np.save(tmp_path / "projvec_targets.npy", projection)
    adapter = load_model(_spec(sequence_class="E9", projection=str(tmp_path / "projvec_targets.npy")))
    assert adapter.sequence_class == 26 == class_index("E9 Liver / Intestine") == class_index(26)
    assert adapter.spec["score_kind"] == "diff"
    seqs = _random_seqs(2, 1000, seed=3)
    profiles = adapter.predict_profiles(seqs)
    p = projection.astype(np.float64)
    expected = profiles @ p[:40].T / np.linalg.norm(p[:40], axis=1)  # the framework's sc_projection
    np.testing.assert_allclose(adapter.predict_classes(seqs), expected, rtol=1e-12)
    np.testing.assert_allclose(adapter.predict(seqs), expected[:, 26], rtol=1e-12)
    np.save(tmp_path / "short.npy", projection[:, :100])
    with pytest.raises(InputError, match=r"short.npy: projection has shape \(61, 100\)"):
        load_model(_spec(sequence_class="E9", projection=str(tmp_path / "short.npy")))
    with pytest.raises(InputError, match="unknown sequence class 'E99'"):
        load_model(_spec(sequence_class="E99", projection=str(tmp_path / "projvec_targets.npy")))


def _score(model_dir: Path, windows: Path, outdir: Path) -> Path:
    assert cli.main(["score", "--model", str(model_dir), "--windows", str(windows), "--outdir", str(outdir)]) == 0
    return outdir / "sei.toy.0.scores.tsv"


def test_score_cli_end_to_end(tmp_path):
    """A model directory as the pipeline's train step would write it, scored by ``regvarbench score``."""
    with open(ROOT / "assets" / "models.csv", newline="") as fh:
        tracks = next(r for r in csv.DictReader(fh) if r["model"] == "sei")["tracks"]
    write_spec(tmp_path / "sei__HepG2", build_spec("sei", "HepG2", tracks, sei_weights=TINY.as_uri()))
    windows = write_tsv(variant_windows(n=5), tmp_path / "windows" / "toy.windows.0.tsv")
    scores = read_tsv(_score(tmp_path / "sei__HepG2", windows, tmp_path / "scores"))
    assert list(scores.columns) == SCORE_COLUMNS and len(scores) == 5 and (scores["model"] == "sei").all()
    assert np.isfinite(scores[["ref_output", "alt_output", "score"]].to_numpy()).all()
    assert scores["ref_output"].between(0, 1).all() and (scores["score"] != 0).any()
    again = _score(tmp_path / "sei__HepG2", windows, tmp_path / "again")
    assert again.read_bytes() == (tmp_path / "scores" / "sei.toy.0.scores.tsv").read_bytes()
    expected = load_model(tmp_path / "sei__HepG2").predict(variant_windows(n=5)["ref_seq"].tolist())
    np.testing.assert_allclose(scores["ref_output"], expected, rtol=1e-9)


def test_windows_in_genome_flanks(tmp_path):
    chrom = _random_seqs(1, 8000, seed=5)[0]
    (tmp_path / "g.fa").write_text(">chr1\n" + "".join(chrom[i:i + 60] + "\n" for i in range(0, 8000, 60)))
    ref = chrom[3000:4000]
    alt = ref[:500] + ("C" if ref[500] != "C" else "G") + ref[501:]
    windows = pd.DataFrame({"variant_id": ["v1"], "dataset": ["d"], "cell_line": ["HepG2"], "ref_seq": [ref],
                            "alt_seq": [alt], "chrom": ["chr1"], "window_start": [3000]})
    adapter = load_model(_spec())
    genome = Genome(tmp_path / "g.fa")
    try:
        flanked = score_windows(adapter, windows, genome=genome, cone=False)
        by_cone = score_windows(adapter, windows, genome=genome)  # the default: the alt by cone reuse
    finally:
        genome.close()
    assert adapter.last_variant_counts == {"cone": 1, "full": 0, "unchanged": 0}
    left = 3000 - 1548  # the window's first base sits at 4096 // 2 - 500
    expected = adapter.predict([chrom[left:left + 4096], chrom[left:3000] + alt + chrom[4000:left + 4096]])
    assert flanked[["ref_output", "alt_output"]].to_numpy()[0] == pytest.approx(expected, abs=1e-12)
    assert by_cone[["ref_output", "alt_output"]].to_numpy()[0] == pytest.approx(expected, abs=1e-6)  # fp32 rounding
    assert score_windows(adapter, windows)["ref_output"].iloc[0] != pytest.approx(expected[0], abs=1e-7)
