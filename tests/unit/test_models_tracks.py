"""Enformer and Borzoi families: tiny real checkpoints of the PyPI ports written to disk, reloaded
through from_pretrained, written as one-shot models by ``regvarbench train`` and used to score
variant windows; plus models whose weights cannot be had (offline hub) and --skip-unavailable."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from regvarbench import cli
from regvarbench.dna import one_hot
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.models import load_model, tracks
from regvarbench.models.unavailable import ModelUnavailableError
from regvarbench.score import SCORE_COLUMNS, read_windows, score_windows, variant_score

from .test_models_hf import LENGTH, offline, synthetic_split, variant_windows  # noqa: F401  (offline: fixture)

INPUT = 2048  # tiny models read 2 kb (multiple of 128): a 120-bp window plus N padding


def build_enformer(path) -> str:
    """Enformer port at toy size (75k parameters), saved as state dict + config (pytorch_model.bin)."""
    from enformer_pytorch import Enformer, EnformerConfig

    config = EnformerConfig(dim=48, depth=1, heads=2, output_heads={"human": 16}, target_length=4,
                            attn_dim_key=8, num_downsamples=7, dim_divisible_by=8)
    torch.manual_seed(0)
    model = Enformer(config)
    with pytest.raises(RuntimeError, match="shared tensors"):  # why the state dict is saved instead
        model.save_pretrained(path / "safetensors")
    model.save_pretrained(path, safe_serialization=False)
    return str(path)


def manual_track_sum(model, seqs, track_ids, bins, channels_last):
    """Reference computation, written out: N-pad to INPUT, forward, sum the tracks over the bins."""
    padded = [("N" * ((INPUT - len(s)) // 2) + s).ljust(INPUT, "N") for s in seqs]
    x = torch.from_numpy(one_hot(padded))
    with torch.inference_mode():
        y = model(x.transpose(1, 2))["human"].transpose(1, 2) if channels_last else model(x)
    return y[:, track_ids][:, :, bins].double().sum(dim=(1, 2)).numpy()


def test_parse_tracks():
    text = "HepG2:27,91,234; K562:121"
    assert tracks.parse_tracks(text, "HepG2") == [27, 91, 234]
    assert tracks.parse_tracks(text, "K562") == [121]
    assert tracks.parse_tracks("3,4", "anything") == [3, 4]
    with pytest.raises(InputError, match="no tracks for cell line 'HeLa'"):
        tracks.parse_tracks(text, "HeLa")
    for bad in ("", "HepG2:a,b", "HepG2:-1"):
        with pytest.raises(InputError):
            tracks.parse_tracks(bad, "HepG2")


def test_enformer_train_reload_score(tmp_path):
    source = build_enformer(tmp_path / "enformer")
    data = write_tsv(synthetic_split(n=24), tmp_path / "HepG2.split.tsv")
    assert cli.main(["train", "--family", "enformer", "--model-name", "enf_tiny", "--source", source,
                     "--data", str(data), "--tracks", "HepG2:1,2;K562:3", "--input-length", str(INPUT),
                     "--outdir", str(tmp_path / "models")]) == 0
    target = tmp_path / "models" / "enf_tiny__HepG2"
    spec = json.loads((target / "spec.json").read_text())
    assert spec["tracks"] == [1, 2] and spec["score_kind"] == "study" and spec["input_length"] == INPUT
    detection = read_tsv(target / "enhancer_detection.tsv")
    assert list(detection["split"]) == ["valid", "test"] and detection["auroc"].between(0, 1).all()

    windows_path = write_tsv(variant_windows(n=6), tmp_path / "windows" / "toy.windows.0.tsv")
    assert cli.main(["score", "--model", str(target), "--windows", str(windows_path), "--outdir",
                     str(tmp_path / "scores")]) == 0
    scores = read_tsv(tmp_path / "scores" / "enf_tiny.toy.0.scores.tsv")
    assert list(scores.columns) == SCORE_COLUMNS and len(scores) == 6

    # the adapter's output is the sum of tracks 1 and 2 over the bins covering the 120-bp window
    adapter = load_model(target)
    windows = read_windows(windows_path)
    assert adapter.central_bins(4, LENGTH) == slice(1, 3)  # 128-bp bins centred on the input centre
    from enformer_pytorch import Enformer
    expected = manual_track_sum(Enformer.from_pretrained(source).eval(), windows["ref_seq"].tolist(), [1, 2],
                                slice(1, 3), channels_last=True)
    np.testing.assert_allclose(scores["ref_output"], expected, rtol=1e-6)
    assert (scores["ref_output"] > 0).all()
    np.testing.assert_allclose(scores["score"], variant_score(scores["ref_output"], scores["alt_output"]), atol=1e-9)
    # other tracks give other outputs; the batch a sequence shares does not change its output
    seqs = windows["ref_seq"].tolist()
    other = load_model({**spec, "tracks": [3]})
    assert not np.allclose(other.predict(seqs), adapter.predict(seqs))
    full = adapter.predict(seqs)
    np.testing.assert_array_equal(full, adapter.predict(seqs[::-1])[::-1])
    np.testing.assert_array_equal(full[:3], adapter.predict(seqs[:3], batch_size=256))  # capped at spec batch


@pytest.mark.slow
def test_borzoi_smoke(tmp_path):
    """Borzoi's conv tower and 7,611-track head are fixed: even this toy keeps ~34M parameters."""
    from borzoi_pytorch import Borzoi
    from borzoi_pytorch.config_borzoi import BorzoiConfig

    torch.manual_seed(0)
    Borzoi(BorzoiConfig(dim=32, depth=1, heads=2, attn_dim_key=8, attn_dim_value=16,
                        bins_to_return=16)).save_pretrained(tmp_path / "borzoi")
    spec = tracks.build_spec("borzoi", "borzoi_tiny", "K562", "HepG2:1303;K562:1397,7610",
                             source=str(tmp_path / "borzoi"), input_length=INPUT)
    adapter = load_model(spec)
    windows = variant_windows(n=3)
    scores = score_windows(adapter, windows)
    bins = adapter.central_bins(16, LENGTH)
    assert bins == slice(6, 10)  # 32-bp bins: the 120-bp window touches the central four
    expected = manual_track_sum(adapter.model, windows["ref_seq"].tolist(), [1397, 7610], bins, channels_last=False)
    np.testing.assert_allclose(scores["ref_output"], expected, rtol=1e-6)
    assert np.isfinite(scores["score"]).all() and (scores["alt_output"] > 0).all()


def test_unavailable_weights_name_model_and_source(tmp_path, offline):  # noqa: F811
    for family, source in (("enformer", "EleutherAI/enformer-official-rough"),
                           ("borzoi", "johahi/borzoi-replicate-0")):
        with pytest.raises(ModelUnavailableError, match=f"model {family}: cannot load from '{source}'"):
            load_model(tracks.build_spec(family, family, "HepG2", "HepG2:1"))
    with pytest.raises(ModelUnavailableError, match=r"model nt_x: cannot load from '/nonexistent/nt'"):
        load_model({"family": "hf", "model_name": "nt_x", "source": "/nonexistent/nt"})
    data = write_tsv(synthetic_split(n=24), tmp_path / "HepG2.split.tsv")
    run = ["train", "--data", str(data), "--outdir", str(tmp_path / "models")]
    enformer = ["--family", "enformer", "--model-name", "enformer", "--tracks", "HepG2:27,91,234"]
    assert cli.main(run + enformer) == 2  # fails, naming the model and source (stderr)
    assert not (tmp_path / "models").exists()


def test_skip_unavailable_leaves_marker_and_empty_scores(tmp_path, offline, caplog):  # noqa: F811
    data = write_tsv(synthetic_split(n=24), tmp_path / "HepG2.split.tsv")
    run = ["train", "--data", str(data), "--outdir", str(tmp_path / "models"), "--skip-unavailable"]
    assert cli.main(run + ["--family", "enformer", "--model-name", "enformer", "--tracks", "HepG2:27"]) == 0
    assert cli.main(run + ["--family", "hf", "--model-name", "dnabert2", "--trust-remote-code",
                           "--source", "zhihan1996/DNABERT-2-117M"]) == 0
    windows_path = write_tsv(variant_windows(n=4), tmp_path / "windows" / "toy.windows.0.tsv")
    for model, source in (("enformer", "EleutherAI/enformer-official-rough"), ("dnabert2", "zhihan1996/DNABERT-2-117M")):
        target = tmp_path / "models" / f"{model}__HepG2"
        skipped = read_tsv(target / "unavailable.tsv")
        assert skipped.loc[0, "model"] == model and skipped.loc[0, "source"] == source
        assert skipped.loc[0, "cell_line"] == "HepG2" and model in skipped.loc[0, "reason"]
        assert read_tsv(target / "enhancer_detection.tsv").empty
        assert json.loads((target / "spec.json").read_text())["unavailable"] is True
        assert cli.main(["score", "--model", str(target), "--windows", str(windows_path), "--outdir",
                         str(tmp_path / "scores")]) == 0
        scores = read_tsv(tmp_path / "scores" / f"{model}.toy.0.scores.tsv")
        assert scores.empty and list(scores.columns) == SCORE_COLUMNS
    assert any("skipped model enformer" in r.getMessage() for r in caplog.records)
    # --skip-unavailable skips unloadable weights only: bad input still fails
    assert cli.main(run + ["--family", "enformer", "--model-name", "e", "--tracks", "HeLa:1"]) == 2
