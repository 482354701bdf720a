"""The model catalogue (assets/models.csv): the study's 22 models with their public sources, valid
against assets/schema_models.json (required columns, enums, patterns, types; checked in Python)."""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

import pytest

from regvarbench import evaluate
from regvarbench.artifacts import MODEL_DIR_SEPARATOR
from regvarbench.contracts import ONESHOT_SUFFIX, WINDOWS_CHUNK_REGEX, windows_chunk_pattern, windows_file_name
from regvarbench.io import InputError
from regvarbench.models import FAMILIES
from regvarbench.oneshot import FAMILIES as ONESHOT_FAMILIES

ASSETS = Path(__file__).resolve().parents[2] / "assets"

HF_STUDY_MODELS = {
    "dnabert2": "zhihan1996/DNABERT-2-117M",
    "nt_v2_50m_multi": "InstaDeepAI/nucleotide-transformer-v2-50m-multi-species",
    "nt_v2_100m_multi": "InstaDeepAI/nucleotide-transformer-v2-100m-multi-species",
    "nt_v2_250m_multi": "InstaDeepAI/nucleotide-transformer-v2-250m-multi-species",
    "nt_v2_500m_multi": "InstaDeepAI/nucleotide-transformer-v2-500m-multi-species",
    "nt_500m_1000g": "InstaDeepAI/nucleotide-transformer-500m-1000g",
    "nt_500m_human_ref": "InstaDeepAI/nucleotide-transformer-500m-human-ref",
    "nt_2_5b_1000g": "InstaDeepAI/nucleotide-transformer-2.5b-1000g",
    "nt_2_5b_multi": "InstaDeepAI/nucleotide-transformer-2.5b-multi-species",
    "geneformer": "ctheodoris/Geneformer",
    "gena_lm_bert_base_t2t": "AIRI-Institute/gena-lm-bert-base-t2t",
    "gena_lm_bert_large_t2t": "AIRI-Institute/gena-lm-bert-large-t2t",
    "gena_lm_bert_base_t2t_multi": "AIRI-Institute/gena-lm-bert-base-t2t-multi",
    "gena_lm_bigbird_base_t2t": "AIRI-Institute/gena-lm-bigbird-base-t2t",
    "hyenadna_small_32k": "LongSafari/hyenadna-small-32k-seqlen-hf",
    "hyenadna_medium_160k": "LongSafari/hyenadna-medium-160k-seqlen-hf",
    "hyenadna_medium_450k": "LongSafari/hyenadna-medium-450k-seqlen-hf",
    "hyenadna_large_1m": "LongSafari/hyenadna-large-1m-seqlen-hf",
}
PUBLISHED = {  # model -> (family, architecture class, source)
    "trednet": ("trednet", "cnn", "https://github.com/okurman/TREDNet"),
    "sei": ("sei", "cnn", "https://github.com/FunctionLab/sei-framework"),
    "enformer": ("enformer", "hybrid", "EleutherAI/enformer-official-rough"),  # PyTorch port of the TF Hub weights
    "borzoi": ("borzoi", "hybrid", "johahi/borzoi-replicate-0"),  # PyTorch port of replicate f0
}
STUDY_CELL_LINES = ("HepG2", "K562", "HeLa")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with open(ASSETS / "models.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads((ASSETS / "schema_models.json").read_text())


def test_schema_states_the_package_families_for_the_pipeline(schema):
    """The family facts the pipeline's Groovy reads from the schema ("x-pipeline") are the package's:
    the families it can run and those whose trainable rows TRAIN fits and ONESHOT probes."""
    facts = schema["x-pipeline"]
    assert facts["runnable_families"] == sorted(FAMILIES)
    assert facts["trained_families"] == sorted(ONESHOT_FAMILIES)
    groovy = "\n".join(p.read_text() for p in (ASSETS.parent / "subworkflows").rglob("*.nf"))
    assert "schema_models.json" in groovy and "runnable_families" in groovy and "trained_families" in groovy


def test_schema_states_the_model_folder_names_for_the_pipeline(schema):
    """The separator of <model>__<cell_line> and the suffix of <model>_oneshot are the package's;
    Groovy's modelDirName and oneshotName read them from the schema, and the modules name their
    output folder meta.id (built by those two), so no .nf file spells either itself."""
    facts = schema["x-pipeline"]
    assert facts["model_dir_separator"] == MODEL_DIR_SEPARATOR
    assert facts["oneshot_suffix"] == ONESHOT_SUFFIX
    root = ASSETS.parent
    nf = {p: p.read_text() for d in ("modules", "subworkflows", "workflows") for p in (root / d).rglob("*.nf")}
    groovy = "\n".join(nf.values())
    assert "model_dir_separator" in groovy and "oneshot_suffix" in groovy
    # spelled as code: '__' or "_oneshot" as a string, or after an interpolation (comments may say <model>__<cell>)
    spelled = re.compile(r"""['"](__|_oneshot)['"]|\}__\$\{|\}_oneshot""")
    assert [str(p.relative_to(root)) for p, text in nf.items() if spelled.search(text)] == []
    for step in ("train", "oneshot"):
        module = (root / "modules" / "local" / step / "main.nf").read_text()
        assert 'path("${meta.id}")' in module and 'path("${meta.id}/enhancer_detection.tsv")' in module, step



def test_schema_states_the_window_chunk_names_for_the_pipeline(schema):
    """SCORE_VARIANTS reads each chunk's number with the package's own expression (x-pipeline), which
    finds the number in every name windows_file_name gives and in no other file make-windows writes."""
    regex = schema["x-pipeline"]["windows_chunk_regex"]
    assert regex == WINDOWS_CHUNK_REGEX
    for dataset in ("sure_HepG2", "my.vcf.data", "loci_7"):
        for chunk in ("00000", "00042", "123456"):
            for loci in (False, True):
                found = re.search(regex, windows_file_name(dataset, chunk, loci))
                assert found and found[1] == chunk
                assert windows_chunk_pattern(dataset).fullmatch(windows_file_name(dataset, chunk, loci))
        for other in (f"{dataset}.windows_summary.tsv", f"{dataset}.windows.tsv", f"{dataset}.windows.7.tsv"):
            assert re.search(regex, other) is None, other
    workflow = (ASSETS.parent / "subworkflows" / "local" / "score_variants" / "main.nf").read_text()
    assert "windows_chunk_regex" in workflow and "\\.windows\\." not in workflow

def test_study_models_and_sources(rows):
    by_name = {r["model"]: r for r in rows}
    assert len(rows) == len(by_name)  # names are unique
    # the study's 22 models (its own fine-tuned checkpoints, rows <model>_study, are checked in test_published_route)
    study = [r["model"] for r in rows if r["family"] in ("hf", "trednet", "sei", "enformer", "borzoi")
             and not r["model"].endswith("_study")]
    assert len(study) == 22 and set(study) == set(HF_STUDY_MODELS) | set(PUBLISHED)
    assert by_name["cnn_small"]["family"] == "cnn" and by_name["cnn_small"]["source"] == "arch:cnn_small"
    for name, source in HF_STUDY_MODELS.items():
        row = by_name[name]
        assert (row["family"], row["source"], row["max_tokens"], row["trainable"]) == ("hf", source, "512", "true"), name
        expected_class = "hybrid" if name.startswith("hyenadna") else "transformer"
        assert row["architecture_class"] == expected_class, name
    for name, (family, klass, source) in PUBLISHED.items():
        assert (by_name[name]["family"], by_name[name]["architecture_class"], by_name[name]["source"]) == (
            family, klass, source), name
    # models whose family has an adapter can be loaded; the others say so in their notes
    for row in rows:
        if row["family"] not in FAMILIES:
            assert "not implemented" in row["notes"], row["model"]


def test_track_models_name_dnase_tracks_of_each_cell_line(rows):
    """Borzoi's indices are checked against the track table shipped with borzoi-pytorch; Enformer's
    (no table in its port) are the same DNase experiments, Borzoi index - 1276, within 5,313 tracks."""
    from importlib.resources import files

    from regvarbench.models.tracks import parse_tracks

    by_name = {r["model"]: r for r in rows}
    targets = files("borzoi_pytorch").joinpath("precomputed", "targets.txt").read_text().splitlines()
    description = {int(line.split("\t")[0]): line.split("\t")[-1] for line in targets[1:]}
    assert len(description) == 7611
    for cell in STUDY_CELL_LINES:
        borzoi = parse_tracks(by_name["borzoi"]["tracks"], cell)
        label = "HeLa-S3" if cell == "HeLa" else cell
        assert all(description[i] == f"DNASE:{label}" for i in borzoi), (cell, [description[i] for i in borzoi])
        enformer = parse_tracks(by_name["enformer"]["tracks"], cell)
        assert set(enformer) <= {i - 1276 for i in borzoi} and max(enformer) < 5313, cell
    assert by_name["enformer"]["input_length"] == "196608" and by_name["borzoi"]["input_length"] == "524288"
    assert all(not r["tracks"] for r in rows if r["family"] not in ("enformer", "borzoi", "sei"))  # sei: test_sei.py


def coerce(value: str, types: list[str]):
    """A CSV cell as the first schema type it parses as; empty = null. Raises ValueError otherwise."""
    if value == "" and "null" in types:
        return None
    for kind in types:
        if kind == "string":
            return value
        if kind == "integer" and re.fullmatch(r"[+-]?\d+", value):
            return int(value)
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
    raise ValueError(f"{value!r} is not {' or '.join(types)}")


def schema_errors(rows: list[dict[str, str]], header: list[str], schema: dict) -> list[str]:
    """Errors of the rows against the subset of JSON schema the catalogue uses."""
    items = schema["items"]
    props = items["properties"]
    errors = [f"missing column {c}" for c in items["required"] if c not in header]
    errors += [f"column {c} not in the schema" for c in header if c not in props]
    for i, row in enumerate(rows, start=2):
        for col, prop in props.items():
            types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
            cell = (row.get(col) or "").strip()
            if cell == "" and col in items["required"]:
                errors.append(f"line {i}: empty required {col}")
                continue
            if cell == "" and col not in items["required"]:
                continue
            try:
                value = coerce(cell, types)
            except ValueError as exc:
                errors.append(f"line {i}, {col}: {exc}")
                continue
            if value is None:
                continue
            if "enum" in prop and value not in prop["enum"]:
                errors.append(f"line {i}, {col}: {value!r} not in {prop['enum']}")
            if "pattern" in prop and not re.search(prop["pattern"], value):
                errors.append(f"line {i}, {col}: {value!r} does not match {prop['pattern']}")
            if "minimum" in prop and value < prop["minimum"]:
                errors.append(f"line {i}, {col}: {value} < {prop['minimum']}")
            if "minLength" in prop and len(value) < prop["minLength"]:
                errors.append(f"line {i}, {col}: shorter than {prop['minLength']}")
    return errors


def test_catalogue_validates_against_its_schema(rows, schema):
    with open(ASSETS / "models.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert schema_errors(rows, header, schema) == []
    # the check can fail: a bad enum value, a non-integer length and a missing column are caught
    bad = [dict(rows[0], architecture_class="rnn", input_length="1kb")]
    assert len(schema_errors(bad, header, schema)) == 2
    assert schema_errors(rows, [c for c in header if c != "source"], schema) == ["missing column source"]


def test_aliases_unique_and_resolved(rows, tmp_path):
    """aliases: the study's names, each naming one row, none a model name; the reader maps them."""
    names = [r["model"] for r in rows]
    aliases = [a.strip() for r in rows for a in r.get("aliases", "").split(";") if a.strip()]
    assert len(aliases) == len(set(aliases)) and not set(aliases) & set(names)
    meta = evaluate.read_catalogue(ASSETS / "models.csv", ["Geneformer", "hyenadna-medium-160k-seqlen-hf",
                                                            "Geneformer_oneshot", "nobody"]).set_index("model")
    assert meta.loc["Geneformer", "architecture_class"] == "transformer"
    assert meta.loc["hyenadna-medium-160k-seqlen-hf", ["family", "architecture_class"]].tolist() == ["hf", "hybrid"]
    assert meta.loc["Geneformer_oneshot", "family"] == "hf" and meta.loc["nobody", "family"] == "unknown"
    # an alias that repeats a model name or another alias is an input error naming the line
    clash = tmp_path / "models.csv"
    clash.write_text("model,family,architecture_class,aliases\na,hf,transformer,x\nb,cnn,cnn,a\n")
    with pytest.raises(InputError, match=r"line 3: alias 'a' of 'b' is already a model name"):
        evaluate.read_catalogue(clash, ["a"])
    clash.write_text("model,family,architecture_class,aliases\na,hf,transformer,x\nb,cnn,cnn,y;x\n")
    with pytest.raises(InputError, match="already an alias of 'a'"):
        evaluate.read_catalogue(clash, ["a"])


def test_every_published_model_has_a_row(published):
    """All 22 model names of the study's published prediction files resolve; none is 'unknown'."""
    names = set()
    for path in sorted((published / "predictions").glob("*.predictions.tsv.gz")):
        with gzip.open(path, "rt") as fh:
            column = fh.readline().rstrip("\n").split("\t").index("model")
            names |= {line.split("\t")[column] for line in fh}
    assert len(names) == 22
    meta = evaluate.read_catalogue(ASSETS / "models.csv", names)
    assert (meta[["family", "architecture_class"]] != "unknown").all().all(), meta
    assert meta["architecture_class"].value_counts().to_dict() == {"transformer": 14, "hybrid": 6, "cnn": 2}
