"""Hub revisions: a commit hash pins the weights a hub id resolves to, and the commit loaded is recorded.

The hub cannot be reached here, so the checkpoints live in a Hugging Face cache laid out as the hub
client writes it (``models--<org>--<name>/snapshots/<commit>/``, ``refs/main``), read offline: the
same resolution code (huggingface_hub / transformers) as a download that was cached earlier.
"""

from __future__ import annotations

import json
import shutil

import huggingface_hub.constants
import numpy as np
import pytest
import torch
import transformers.utils.hub
from transformers import EsmForSequenceClassification

from regvarbench import cli
from regvarbench.io import read_tsv, write_tsv
from regvarbench.models import hf, load_model

from .test_models_hf import build_esm_checkpoint, synthetic_split, variant_windows

REPO = "tiny-org/tiny-esm"
COMMIT_A = "a" * 40
COMMIT_B = "b" * 40


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An offline hub cache holding two commits of REPO with different weights; main = COMMIT_A."""
    cache = tmp_path / "hub"
    root = cache / f"models--{REPO.replace('/', '--')}"
    source = build_esm_checkpoint(tmp_path / "esm")
    for commit, seed in ((COMMIT_A, 0), (COMMIT_B, 1)):
        snapshot = root / "snapshots" / commit
        shutil.copytree(source, snapshot)
        model = EsmForSequenceClassification.from_pretrained(source)
        torch.manual_seed(seed)
        for p in model.parameters():
            torch.nn.init.normal_(p, std=0.5)
        model.save_pretrained(snapshot)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT_A)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(transformers.utils.hub, "_is_offline_mode", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(transformers.utils.hub, "TRANSFORMERS_CACHE", str(cache))
    monkeypatch.setattr(transformers.utils.hub, "HF_HUB_CACHE", str(cache), raising=False)
    return cache


def test_revision_pins_the_weights_and_is_recorded(hub_cache, tmp_path):
    seqs = variant_windows(4)["ref_seq"].tolist()
    main = load_model({"family": "hf", "model_name": "m", "source": REPO})
    pinned_a = load_model({"family": "hf", "model_name": "m", "source": REPO, "revision": COMMIT_A})
    pinned_b = load_model({"family": "hf", "model_name": "m", "source": REPO, "revision": COMMIT_B})
    assert main.spec["resolved_revision"] == COMMIT_A == pinned_a.spec["resolved_revision"]
    assert pinned_b.spec["resolved_revision"] == COMMIT_B
    np.testing.assert_array_equal(main.predict(seqs), pinned_a.predict(seqs))
    assert not np.allclose(pinned_a.predict(seqs), pinned_b.predict(seqs))  # other commit, other weights
    with pytest.raises(hf.ModelUnavailableError, match=REPO):  # a commit the cache does not hold
        load_model({"family": "hf", "model_name": "m", "source": REPO, "revision": "c" * 40})

    # fine-tuning at a revision records both the revision asked for and the commit loaded
    data = write_tsv(synthetic_split(n=24), tmp_path / "HepG2.split.tsv")
    assert cli.main(["train", "--family", "hf", "--source", REPO, "--revision", COMMIT_B, "--data", str(data),
                     "--model-name", "esm_b", "--epochs", "1", "--patience", "1", "--max-tokens", "64",
                     "--threads", "1", "--outdir", str(tmp_path / "out")]) == 0
    spec = json.loads((tmp_path / "out" / "esm_b__HepG2" / "spec.json").read_text())
    assert spec["revision"] == COMMIT_B and spec["resolved_revision"] == COMMIT_B
    # one-shot probes record it too
    assert cli.main(["oneshot", "--family", "hf", "--source", REPO, "--revision", COMMIT_B, "--data", str(data),
                     "--model-name", "esm", "--max-tokens", "64", "--max-train", "8",
                     "--outdir", str(tmp_path / "one")]) == 0
    spec = json.loads((tmp_path / "one" / "esm_oneshot__HepG2" / "spec.json").read_text())
    assert spec["revision"] == COMMIT_B and spec["resolved_revision"] == COMMIT_B
    assert read_tsv(tmp_path / "one" / "esm_oneshot__HepG2" / "enhancer_detection.tsv")["n"].sum() > 0


def test_local_directory_has_no_resolved_revision(tmp_path):
    source = build_esm_checkpoint(tmp_path / "esm")
    adapter = load_model({"family": "hf", "model_name": "m", "source": source, "revision": COMMIT_A})
    assert adapter.spec["resolved_revision"] is None  # a directory is what it is: the revision is ignored
