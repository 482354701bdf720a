"""Fast pipeline checks: stub run, parameter validation before any task, help, module layout."""

from __future__ import annotations

import csv
import json
import re

import pytest
import yaml

from .helpers import ROOT, read_trace, run_nextflow

pytestmark = pytest.mark.pipeline

MODULES = sorted(p.parent for p in (ROOT / "modules" / "local").glob("*/main.nf"))
# modules whose outputs keep their contract names: the model folder <model>__<cell_line>
# (artifacts.model_dir) is how SCORE, EVALUATE and --model_dir find a model (docs/usage.md)
PREFIX_EXEMPT = {"train", "oneshot"}


def test_stub_run(nextflow, tmp_path):
    sheet = tmp_path / "predictions.csv"  # so that IMPORT_PREDICTIONS runs too (every module once)
    sheet.write_text(f"model,path,kind\next_prob,{ROOT / 'tests/fixtures/modules/tiny.predictions.tsv'},auto\n")
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test", "-stub-run", "--outdir", str(tmp_path / "out"),
                        "--predictions", str(sheet))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    trace = read_trace(tmp_path / "out")
    assert len({row["process"].split(":")[-1] for row in trace}) == len(MODULES)
    assert (tmp_path / "out" / "report" / "index.html").exists()
    # conf/modules.config names every process by its fully qualified name (the workflow path optional)
    selectors = re.findall(r"^    withName: '([^']+)' \{", (ROOT / "conf" / "modules.config").read_text(), flags=re.M)
    qualified = {"".join(re.fullmatch(r"\(([\w:]+:)\)\?(\w+)", s).groups()) for s in selectors}
    assert qualified == {row["process"] for row in trace}


def test_bad_parameters_fail_before_any_task(nextflow, tmp_path):
    """All invalid values are reported at once, each naming its parameter, before any task."""
    bad = {
        "--score_chunk_size": ("-3", "--score_chunk_size: -3 is below the minimum 1"),
        "--input": ("/nonexistent/datasets.csv", "--input: file not found"),
        "--control_matching": ("best", "--control_matching: 'best' is not one of gc, none"),
        "--train_lr": ("fast", "--train_lr: expected a number"),
        "--no_such_option": ("1", "--no_such_option: unknown parameter"),
        # removed in favour of process.resourceLimits: the message says where the caps went
        "--max_cpus": ("4", "--max_cpus: unknown parameter (see --help for the list); the resource caps are "
                            "Nextflow's process.resourceLimits now"),
        "--cell_line": ("HepG2", "--cell_line applies to a VCF given as --input"),
    }
    args = [x for name, (value, _) in bad.items() for x in (name, value)]
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test,predict", "--outdir", str(tmp_path / "out"), *args,
                        timeout=300)
    assert proc.returncode != 0
    for _, message in bad.values():
        assert message in proc.stdout + proc.stderr
    assert "-profile predict needs --model_dir DIR" in proc.stdout + proc.stderr
    assert "Submitted process" not in proc.stdout
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())


def test_unknown_model_fails_before_any_task(nextflow, tmp_path):
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test", "--models", "nope", timeout=300)
    assert proc.returncode != 0
    assert "--models: unknown model(s) nope" in proc.stdout + proc.stderr
    assert "Submitted process" not in proc.stdout


def test_unknown_dataset_name_stops_the_run(nextflow, tmp_path):
    """--datasets names rows of the datasets samplesheet; one that is not there stops the run, listing
    the names there are (a stub run: its synthetic benchmark has one dataset)."""
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test", "-stub", "--datasets", "sim_raqtl_HepG2,nope",
                        "--outdir", str(tmp_path / "out"), timeout=300)
    assert proc.returncode != 0
    assert "--datasets: nope not among the datasets (sim_raqtl_HepG2)" in proc.stdout + proc.stderr
    assert "PREPARE_VARIANTS" not in proc.stdout


def test_model_dir_without_the_model_stops_the_run(nextflow, tmp_path):
    """--model_dir: a model of --models with no <model>__<cell_line> folder there stops the run with
    one message naming the folder it looked for and what the directory holds; nothing is trained."""
    models = tmp_path / "models"
    (models / "cnn_small__K562").mkdir(parents=True)
    (models / "cnn_small__K562" / "spec.json").write_text("{}")
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test", "-stub", "--model_dir", str(models),
                        "--models", "cnn_small", "--datasets", "sim_raqtl_HepG2", "--outdir", str(tmp_path / "out"),
                        timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"--model_dir {models}: no model folder cnn_small__HepG2 (model cnn_small, cell line HepG2" in text, text[-3000:]
    assert "it holds cnn_small__K562" in text and "(or give --oneshot false)" not in text
    assert "TRAIN" not in proc.stdout and "SCORE (" not in proc.stdout


def test_remote_code_outside_the_catalogue_needs_the_flag(nextflow, tmp_path):
    """A catalogue row that runs its checkpoint's own code is refused unless assets/models.csv has the
    same row (source and revision) or the user passes --trust_remote_code."""
    with open(ROOT / "assets" / "models.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_name = {row["model"]: row for row in rows}
    assert by_name["gena_lm_bert_base_t2t"]["trust_remote_code"] == "true"
    by_name["gena_lm_bert_base_t2t"]["revision"] = "0" * 40  # a shipped row at another revision: unvetted code
    by_name["my_hyena"] = {**by_name["hyenadna_small_32k"], "model": "my_hyena", "source": "someone/else"}
    catalogue = tmp_path / "mine.csv"
    with open(catalogue, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(by_name.values())
    models = "my_hyena,gena_lm_bert_base_t2t,hyenadna_small_32k,cnn_small"  # the shipped hyena row needs no flag
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test", "--model_catalogue", str(catalogue), "--models", models,
                        "-stub", timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Submitted process" not in proc.stdout, text[-3000:]
    assert "--models: my_hyena, gena_lm_bert_base_t2t would run the modelling code" in text, text[-3000:]
    assert "--trust_remote_code" in text
    # with the flag the user's rows pass the check (a stub run)
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test", "--model_catalogue", str(catalogue), "--models", models,
                        "-stub", "--trust_remote_code", "--outdir", str(tmp_path / "trusted"), timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def test_unknown_profile_fails(nextflow, tmp_path):
    proc = run_nextflow(nextflow, tmp_path, "-profile", "nosuchprofile", timeout=300)
    assert proc.returncode != 0
    assert "nosuchprofile" in proc.stdout + proc.stderr


def test_help_lists_every_schema_parameter(nextflow, tmp_path):
    proc = run_nextflow(nextflow, tmp_path, "--help", timeout=300)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    for group in schema["$defs"].values():
        assert group["title"] in proc.stdout
        for name in group["properties"]:
            assert f"--{name} " in proc.stdout, name


def test_schema_covers_every_config_param():
    config = (ROOT / "nextflow.config").read_text()
    block = config[config.index("params {"):config.index("manifest {")]
    names = set(re.findall(r"^\s{4}(\w+)\s*=", block, flags=re.M))
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    documented = {n for g in schema["$defs"].values() for n in g["properties"]}
    assert names <= documented, names - documented


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_layout(module):
    text = (module / "main.nf").read_text()
    assert "stub:" in text and "versions.yml" in text and "task.ext.args" in text
    assert re.search(r"^    when:\n    task\.ext\.when == null \|\| task\.ext\.when$", text, flags=re.M)  # nf-core: a caller can skip it
    assert re.search(r"tag \"\$\{meta\.id\}\"", text)
    assert (module / "meta.yml").exists()
    # meta.yml is YAML and lists the process's inputs, in order (reference inputs: meta2, fasta, fai)
    inputs = "\n".join(line.split("//")[0] for line in text[text.index("    input:"):text.index("    output:")].splitlines())
    meta = yaml.safe_load((module / "meta.yml").read_text())
    assert [next(iter(entry)) for entry in meta["input"]] == re.findall(r"\b(?:val|path)(?:\(\s*| )(\w+)", inputs)
    assert "path(genome" not in inputs, "a reference input is tuple val(meta2), path(fasta), path(fai)"
    # nf-core: task.ext.prefix names the outputs (its default: the names of today), in script and stub
    if module.name not in PREFIX_EXEMPT:
        assert len(re.findall(r"^    prefix = task\.ext\.prefix \?: ", text, flags=re.M)) == 2, "script and stub"
        # the output names interpolate it (SCORE: a packed task's tables are named by score itself)
        assert re.search(r"\$\{[^}]*\bprefix\}", text[text.index("    output:"):text.index("    when:")])
    # nf-core layout: a conda environment beside the module and nf-test files naming its process
    assert 'conda "${moduleDir}/environment.yml"' in text
    env = yaml.safe_load((module / "environment.yml").read_text())
    project = yaml.safe_load((ROOT / "containers" / "environment.yml").read_text())   # same pins
    assert env["channels"] == project["channels"]
    conda_deps = [[d for d in e["dependencies"] if isinstance(d, str)] for e in (env, project)]
    assert conda_deps[0] == conda_deps[1]
    process = re.search(r"^process (\w+)", text, flags=re.M).group(1)
    nftest = module / "tests" / "main.nf.test"
    assert nftest.exists(), f"{nftest} missing"
    spec = nftest.read_text()
    assert f'process "{process}"' in spec and 'script "../main.nf"' in spec
    assert 'options "-stub"' in spec and "snapshot(" in spec
    snap = module / "tests" / "main.nf.test.snap"
    assert snap.exists(), f"{snap} missing: run nf-test to record it"
    assert set(re.findall(r'^    test\("([^"]+)"\)', spec, flags=re.M)) == set(json.loads(snap.read_text()))


def test_pipeline_nftest_and_config():
    pipeline_test = (ROOT / "tests" / "default.nf.test").read_text()  # nf-core's name for it
    assert 'script "../main.nf"' in pipeline_test and 'profile "test"' in pipeline_test
    assert (ROOT / "tests" / "default.nf.test.snap").exists()
    assert "configFile" in (ROOT / "nf-test.config").read_text()
    # pytest collects tests/; the nf-test files must not look like Python tests
    assert not [p for p in (ROOT / "modules").rglob("test_*.py")]


def test_bad_predictions_sheet_fails_before_any_task(nextflow, tmp_path):
    """The predictions samplesheet is checked against assets/schema_predictions.json, one message per problem."""
    sheet = tmp_path / "predictions.csv"
    sheet.write_text("model,path,kind,dataset_map\ncnn_small,a.tsv,odds,\n,b.tsv,auto,x=y;z\n")
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test", "--predictions", str(sheet),
                        "--outdir", str(tmp_path / "out"), timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Submitted process" not in proc.stdout
    assert "row 1: kind 'odds'" in out and "row 2: empty 'model'" in out and "row 2: dataset_map 'x=y;z'" in out
    assert "model(s) cnn_small also computed by this run" in out
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test", "--models", "none", timeout=300)
    assert proc.returncode != 0 and "--models none: nothing to evaluate without --predictions" in proc.stdout + proc.stderr


def test_test_full_profile_needs_the_study_data(nextflow, tmp_path):
    """-profile test_full is -profile study on ../shared/data/published by default (the full run is
    test_study_profile.py's); a folder that is not there stops it before any task, naming the path."""
    config = (ROOT / "conf" / "test_full.config").read_text()
    assert "includeConfig 'study.config'" in config and '"${projectDir}/../shared/data/published"' in config
    assert "test_full   { includeConfig 'conf/test_full.config' }" in (ROOT / "nextflow.config").read_text()
    missing = tmp_path / "published"
    (missing / "experimental").mkdir(parents=True)  # no predictions/
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test_full", "--published", str(missing), "-preview",
                        "--outdir", str(tmp_path / "out"), timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Submitted process" not in proc.stdout
    assert f"-profile test_full: the study's data folder {missing / 'predictions'} not found" in out, out[-3000:]


def test_take_and_emit_lines_say_their_channel_shapes():
    """nf-core: every take: and emit: line of a workflow is commented with its channel's shape."""
    files = [ROOT / "workflows" / "regvarbench.nf", *sorted((ROOT / "subworkflows" / "local").glob("*/main.nf"))]
    checked = 0
    for path in files:
        text = path.read_text()
        sections = re.findall(r"^    take:\n(.*?)^    main:", text, flags=re.M | re.S)
        sections += re.findall(r"^    emit:\n(.*?)^}", text, flags=re.M | re.S)
        for line in (line for section in sections for line in section.splitlines() if line.strip()):
            assert re.search(r"\S\s+// \S", line), f"{path.relative_to(ROOT)}: {line.strip()}"
            checked += 1
    assert checked >= 30
