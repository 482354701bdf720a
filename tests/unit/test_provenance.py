"""provenance.tsv: the sha256 of every input and model file, each model's revision (regvarbench.provenance)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from regvarbench import cli
from regvarbench.io import InputError
from regvarbench.models import write_spec
from regvarbench.provenance import PROVENANCE_COLUMNS, provenance_table, sha256_file


def make_model_dir(root, name, spec):
    target = root / name
    write_spec(target, spec)
    (target / "checkpoint").mkdir()
    (target / "checkpoint" / "model.safetensors").write_bytes(b"weights of " + name.encode())
    return target


def test_inputs_models_and_files_with_their_digests(tmp_path):
    genome = tmp_path / "in" / "genome.fa"
    genome.parent.mkdir()
    genome.write_text(">chr1\nACGT\n")
    peaks = tmp_path / "in2" / "peaks.bed"
    peaks.parent.mkdir()
    peaks.write_text("chr1\t0\t4\n")
    hub = make_model_dir(tmp_path / "models", "nt__HepG2", {
        "model_name": "nt", "cell_line": "HepG2", "family": "hf", "source": "org/nt", "revision": "main",
        "resolved_revision": "a" * 40})
    published = make_model_dir(tmp_path / "models", "trednet__K562", {
        "model_name": "trednet", "cell_line": "K562", "family": "trednet", "source": "https://example.org/t",
        "weights_sha256": {"https://example.org/phase_one.hdf5": "f" * 64}})
    table = provenance_table([peaks, genome], [published, hub])
    assert list(table.columns) == PROVENANCE_COLUMNS
    assert list(table["kind"]) == ["input", "input", "model", "model_file", "model_file",
                                   "model", "model_file", "model_file", "model_file"]
    assert list(table["name"][:2]) == ["genome.fa", "peaks.bed"]  # inputs sorted by name
    assert table.loc[0, "sha256"] == hashlib.sha256(b">chr1\nACGT\n").hexdigest() and table.loc[0, "bytes"] == 11
    nt = table[table.model == "nt"]
    assert nt.iloc[0][["family", "source", "revision", "resolved_revision"]].tolist() == ["hf", "org/nt", "main",
                                                                                           "a" * 40]
    assert list(nt["name"][1:]) == [os.path.join("checkpoint", "model.safetensors"), "spec.json"]
    assert nt.iloc[1]["sha256"] == sha256_file(hub / "checkpoint" / "model.safetensors")
    external = table[table.name == "https://example.org/phase_one.hdf5"]
    assert external["sha256"].tolist() == ["f" * 64] and external["model"].tolist() == ["trednet"]
    # same files, same table, whatever the order given
    assert provenance_table([genome, peaks], [hub, published]).equals(table)


def test_unreadable_or_damaged_inputs_name_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.fa"):
        provenance_table([tmp_path / "missing.fa"], [])
    bad = make_model_dir(tmp_path, "m__HepG2", {"model_name": "m", "weights_sha256": ["not", "a", "map"]})
    with pytest.raises(InputError, match=r"m__HepG2.*weights_sha256"):
        provenance_table([], [bad])
    (bad / "spec.json").write_text("{not json")
    with pytest.raises(InputError, match="spec.json"):
        provenance_table([], [bad])


def test_evaluate_writes_provenance(tmp_path):
    fixtures = os.path.join(os.path.dirname(__file__), "..", "fixtures", "modules")
    variants = os.path.join(fixtures, "tiny.variants.tsv")
    scores = [os.path.join(fixtures, f"motif_jaspar.tiny.0000{i}.scores.tsv") for i in (0, 1)]
    assert cli.main(["evaluate", "--variants", variants, "--scores", *scores, "--inputs", variants,
                     "--model-dirs", os.path.join(fixtures, "cnn_small__HepG2"), "--bootstrap", "0",
                     "--outdir", str(tmp_path / "ev")]) == 0
    text = (tmp_path / "ev" / "tables" / "provenance.tsv").read_text()
    assert "tiny.variants.tsv\t" + sha256_file(variants) in text
    record = json.loads((tmp_path / "ev" / "tables" / "evaluation.json").read_text())
    assert record["inputs"]["variants"] == [{"name": "tiny.variants.tsv", "sha256": sha256_file(variants)}]
