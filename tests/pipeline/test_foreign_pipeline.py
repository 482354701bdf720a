"""Two regvarbench modules reused, as they are, by a minimal pipeline of someone else's.

tests/fixtures/foreign_pipeline/main.nf includes PREPARE_VARIANTS and MAKE_WINDOWS from
modules/local with its own params, config and publishing, and runs them on the tiny fixtures
under tests/fixtures/modules. The test checks what the modules computed, not just that files exist.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from regvarbench import __version__
from regvarbench.genome import Genome
from regvarbench.io import read_tsv

from .helpers import ROOT, nextflow_env

pytestmark = pytest.mark.pipeline

PIPELINE = ROOT / "tests" / "fixtures" / "foreign_pipeline"
FIXTURES = ROOT / "tests" / "fixtures" / "modules"
WINDOW, CHUNK = 40, 6


def test_foreign_pipeline_runs_our_modules(nextflow, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [nextflow, "run", str(PIPELINE), "-ansi-log", "false", "--outdir", str(out), "--dataset", "theirs",
         "--window", str(WINDOW), "--chunk", str(CHUNK)],
        cwd=tmp_path, env=nextflow_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    source = read_tsv(FIXTURES / "variants_standard.tsv")
    variants = read_tsv(out / "variants" / "theirs.variants.tsv")
    assert len(variants) == len(source) == 15
    assert set(variants["dataset"]) == {"theirs"} and set(variants["cell_line"]) == {"HepG2"}
    assert variants[["chrom", "pos", "ref", "alt"]].astype(str).values.tolist() == \
        source[["chrom", "pos", "ref", "alt"]].astype(str).values.tolist()
    assert len(read_tsv(out / "variants" / "theirs.skipped.tsv")) == 0

    # The foreign config's ext.args reached MAKE_WINDOWS: WINDOW-bp windows in chunks of CHUNK, in
    # files named by its ext.prefix
    chunks = sorted((out / "windows").glob("theirs_w40.windows.0*.tsv"))
    assert [len(read_tsv(c)) for c in chunks] == [6, 6, 3]
    windows = {row.variant_id: row for c in chunks for row in read_tsv(c).itertuples()}
    with Genome(FIXTURES / "genome.fa") as genome:
        for v in variants.itertuples():
            w = windows[v.variant_id]
            start = int(v.pos) - 1 - WINDOW // 2
            assert w.ref_seq == genome.fetch(v.chrom, start, start + WINDOW)
            assert w.ref_seq[WINDOW // 2] == v.ref
            assert w.alt_seq == w.ref_seq[:WINDOW // 2] + v.alt + w.ref_seq[WINDOW // 2 + 1:]
    summary = read_tsv(out / "windows" / "theirs_w40.windows_summary.tsv")
    assert summary[["n_variants", "n_chunks"]].values.tolist() == [[15, 3]]

    versions = yaml.safe_load((out / "versions.yml").read_text())
    assert set(versions) == {"PREPARE_VARIANTS", "MAKE_WINDOWS"}
    for tools in versions.values():
        assert str(tools["regvarbench"]) == __version__
        assert "python" in tools and "pandas" in tools
