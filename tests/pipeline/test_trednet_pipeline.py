"""trednet_like, published-weight models and tiny Hugging Face checkpoints in one `-profile test` run.

- trednet_like: phase one multi-task over every cell line of the run, as TREDNet (TRAIN_MODELS
  gives each job the other cell lines' split tables as --phase1-data); one epoch per phase.
- trednet and sei from locally built weight files standing in for the downloads: trednet by
  ``https://`` URLs found by file name in ``--weights_dir`` (the download's code path, without the
  download), sei by a ``file://`` URL (the width-reduced fixture with Sei's key names).
- hyena_tiny, a remote-code Hyena-style checkpoint, and esm_tiny, an ESM-style one (the
  Nucleotide Transformer's classes): each fine-tuned for one epoch (TRAIN), probed untrained
  (ONESHOT: <model>_oneshot) and both scored. ONESHOT runs for the hf rows only here (ext.when in
  the test's config): the cnn one-shot probe is checked by test_pipeline.py.
- nt_tiny_study: a fine-tuned checkpoint per cell line (``{cell_line}`` in its source), scored as
  published, like the study's own tanoManzo checkpoints: no fine-tuning, no one-shot twin.

The catalogue is the real one with the trednet and sei rows pointed at the fixtures and the tiny
rows added (written by the test, passed as --model_catalogue).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ..unit.test_models_hf import build_esm_checkpoint, build_remote_code_checkpoint
from .helpers import ROOT, read_trace, run_nextflow

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

TREDNET = ROOT / "tests" / "fixtures" / "trednet_keras"
SEI = ROOT / "tests" / "fixtures" / "sei" / "sei_tiny.pth"
PUBLISHED = ("trednet", "sei", "nt_tiny_study")  # scored as published: nothing fitted
FINE_TUNED = ("hyena_tiny", "esm_tiny")
MODELS = ("trednet_like", *PUBLISHED, *FINE_TUNED)
ONESHOT = tuple(f"{m}_oneshot" for m in FINE_TUNED)
# hf rows fine-tune for one epoch (the study's defaults would run up to 200); cnn rows as -profile test;
# one-shot probes of the hf rows only
TEST_CONFIG = """
process {
    withName: 'REGVARBENCH:TRAIN_MODELS:TRAIN' {
        ext.args = { (meta.family == 'cnn' ? "--epochs ${params.train_epochs} --patience ${params.train_patience} --reverse-complement-augment"
                      : meta.family == 'hf' && meta.trainable ? '--epochs 1 --patience 1 --lr 0.003' : '') + " --seed ${params.seed}" }
    }
    withName: 'REGVARBENCH:TRAIN_MODELS:ONESHOT' {
        ext.when = { meta.family == 'hf' }
    }
}
"""


def write_test_catalogue(tmp: Path) -> Path:
    """The real catalogue, trednet and sei pointed at local weights, the tiny hf rows added."""
    with open(ROOT / "assets" / "models.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        columns, rows = reader.fieldnames, list(reader)
    by_name = {row["model"]: row for row in rows}
    by_name["trednet"].update(source="phase_one=https://example.org/trednet/phase_one.h5;"
                                     "phase_two=https://example.org/trednet/phase_two_{cell_line}.h5")
    by_name["sei"].update(source=f"sei_weights=file://{SEI}", tracks="HepG2:0,1;K562:2,3", trainable="false")
    tiny = {"architecture_class": "transformer", "input_length": "1000", "kind_of_output": "prob", "family": "hf"}
    rows += [
        {**tiny, "model": "hyena_tiny", "architecture_class": "hybrid", "max_tokens": "120", "trainable": "true",
         "source": build_remote_code_checkpoint(tmp / "hyena_tiny"), "trust_remote_code": "true"},
        {**tiny, "model": "esm_tiny", "source": build_esm_checkpoint(tmp / "esm_tiny"), "max_tokens": "32",
         "trainable": "true", "trust_remote_code": "false"},
        {**tiny, "model": "nt_tiny_study", "source": f"{tmp}/study_{{cell_line}}", "max_tokens": "32",
         "trainable": "false", "trust_remote_code": "false"},
    ]
    for cell in ("HepG2", "K562"):  # the study published one fine-tuned checkpoint per cell line
        build_esm_checkpoint(tmp / f"study_{cell}")
    path = tmp / "models.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def trednet_run(nextflow, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("nf_trednet")
    outdir = workdir / "results"
    weights = workdir / "weights"  # filled by hand, as a user fills the cache for an offline cluster
    weights.mkdir()
    shutil.copy(TREDNET / "phase_one.h5", weights / "phase_one.h5")
    for cell in ("HepG2", "K562"):
        shutil.copy(TREDNET / "phase_two.h5", weights / f"phase_two_{cell}.h5")
    (workdir / "tiny.config").write_text(TEST_CONFIG)
    catalogue = write_test_catalogue(workdir)
    proc = run_nextflow(nextflow, workdir, "-profile", "test", "-c", str(workdir / "tiny.config"),
                        "--model_catalogue", str(catalogue), "--models", ",".join(MODELS), "--oneshot", "true",
                        "--oneshot_max_train", "200", "--weights_dir", str(weights),
                        "--trust_remote_code",  # hyena_tiny ships its code and is not a row of assets/models.csv
                        "--train_epochs", "1", "--train_patience", "1", "--score_chunk_size", "100000",
                        # one dataset: every model is still fitted for both cell lines (phase one needs them)
                        # and scored for HepG2; each SCORE of an hf model costs ~10 s of imports alone
                        "--datasets", "sim_raqtl_HepG2",
                        "--bootstrap", "20", "--outdir", str(outdir))
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    cells = sorted(p.name for p in (outdir / "regions").iterdir() if (p / f"{p.name}.split.tsv").exists())
    assert len(cells) >= 2, f"the test profile should simulate several cell lines, got {cells}"
    return workdir, outdir, cells


def _rows(outdir: Path, process: str) -> list[dict]:
    return [row for row in read_trace(outdir) if row["process"].split(":")[-1] == process]


def test_phase_one_has_every_cell_line_as_task(trednet_run):
    """Each cell line's model: all cell lines as tasks, its own table first, the others sorted."""
    _, outdir, cells = trednet_run
    for cell in cells:
        spec = json.loads((outdir / "models" / f"trednet_like__{cell}" / "spec.json").read_text())
        others = [c for c in cells if c != cell]
        assert spec["phase1"]["tasks"] == [cell, *others], cell
        assert spec["phase1"]["sources"] == [f"{cell}.split.tsv", *(f"phase1/{c}.split.tsv" for c in others)], cell
        # every task is learnt from positives of its own cell line, not an all-zero column
        assert all(spec["phase1"]["positives_train"][c] > 0 for c in cells), spec["phase1"]["positives_train"]


def test_train_command_passes_phase_one_tables(trednet_run):
    workdir, outdir, cells = trednet_run
    rows = [row for row in _rows(outdir, "TRAIN") if row["tag"].startswith("trednet_like__")]
    assert sorted(row["tag"] for row in rows) == [f"trednet_like__{c}" for c in cells]
    for row in rows:
        cell = row["tag"].split("__")[1]
        (taskdir,) = (workdir / "work").glob(f"{row['hash']}*")
        script = (taskdir / ".command.sh").read_text()
        tables = " ".join(f"phase1/{c}.split.tsv" for c in cells if c != cell)
        assert f"--phase1-data {tables}" in script, script


def test_published_models_are_not_fitted(trednet_run):
    """trednet, sei and the study checkpoint: a TRAIN task that writes spec + detection only, no
    ONESHOT twin (only the fine-tuned hf rows have one); the weights came from where the catalogue
    and --weights_dir said."""
    workdir, outdir, cells = trednet_run
    train_tags = {row["tag"] for row in _rows(outdir, "TRAIN")}
    oneshot_tags = {row["tag"] for row in _rows(outdir, "ONESHOT")}
    assert train_tags == {f"{m}__{c}" for m in MODELS for c in cells}
    assert oneshot_tags == {f"{m}_oneshot__{c}" for m in FINE_TUNED for c in cells}
    for model in PUBLISHED:
        for cell in cells:
            target = outdir / "models" / f"{model}__{cell}"
            assert sorted(p.name for p in target.iterdir()) == ["enhancer_detection.tsv", "spec.json"], target
            spec = json.loads((target / "spec.json").read_text())
            assert spec["trainable"] is False and "epochs_run" not in spec and "training" not in spec, spec
            assert len(pd.read_csv(target / "enhancer_detection.tsv", sep="\t")) == 2
    trednet = json.loads((outdir / "models" / f"trednet__{cells[0]}" / "spec.json").read_text())
    assert trednet["phase_two"] == f"https://example.org/trednet/phase_two_{cells[0]}.h5"
    study = json.loads((outdir / "models" / f"nt_tiny_study__{cells[1]}" / "spec.json").read_text())
    assert study["source"] == f"{workdir}/study_{cells[1]}" and study["checkpoint"] is None
    # the task found the hand-filled directory through the environment the pipeline gave it
    (row,) = [r for r in _rows(outdir, "TRAIN") if r["tag"] == f"trednet__{cells[0]}"]
    (taskdir,) = (workdir / "work").glob(f"{row['hash']}*")
    assert f"REGVARBENCH_WEIGHTS=\"{workdir / 'weights'}\"" in (taskdir / ".command.run").read_text().replace("'", '"')
    assert "--epochs" not in (taskdir / ".command.sh").read_text()


def test_tiny_hf_checkpoints_are_fine_tuned(trednet_run):
    _, outdir, cells = trednet_run
    for model in FINE_TUNED:
        for cell in cells:
            target = outdir / "models" / f"{model}__{cell}"
            assert (target / "checkpoint").is_dir() and (target / "training_curve.tsv").exists(), target
            spec = json.loads((target / "spec.json").read_text())
            assert spec["family"] == "hf" and spec["epochs_run"] == 1, spec
            # its one-shot twin: the same checkpoint untrained, with a linear probe on its embeddings
            probe = json.loads((outdir / "models" / f"{model}_oneshot__{cell}" / "spec.json").read_text())
            assert probe["family"] == "hf" and probe["oneshot_of"] == model and probe["probe"]["n_train"] > 0, probe
            assert "epochs_run" not in probe and not (outdir / "models" / f"{model}_oneshot__{cell}" / "checkpoint").exists()


def test_every_model_reaches_the_evaluation_and_the_report(trednet_run):
    _, outdir, cells = trednet_run
    scored = set(MODELS) | set(ONESHOT)
    tables = outdir / "evaluation" / "tables"
    correlations = pd.read_csv(tables / "correlation_by_dataset.tsv", sep="\t")
    assert scored <= set(correlations["model"]), sorted(set(correlations["model"]))
    detection = pd.read_csv(tables / "enhancer_detection.tsv", sep="\t")
    assert scored <= set(detection["model"]), sorted(set(detection["model"]))
    report = (outdir / "report" / "index.html").read_text()
    for model in scored:
        assert f">{model}<" in report or f'"{model}"' in report, model
