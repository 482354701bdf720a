"""Receptive-field (cone) reuse for published Sei agrees with full passes.

``Sei.tower_patch`` (models/sei.py, on models/cone.py's Patch machinery) against ``Sei.tower``
on the altered input, and ``SeiAdapter.variant_profiles`` (models/sei_framework.py, the ``score``
default) against the adapter's full passes, on a width-reduced Sei with the published key names
at the published 4,096-bp input: SNVs at the centre, at and near both ends, several per
reference, 2-16 bp changes (MNVs, N runs), indel-like shifts (full passes) and unchanged alts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from regvarbench import cli
from regvarbench.genome import Genome
from regvarbench.io import read_tsv, write_tsv
from regvarbench.models import write_spec
from regvarbench.models.cone import Patch, paste
from regvarbench.models.sei import SEI_INPUT_LENGTH, Sei, SeiLike
from regvarbench.models.sei_framework import CONE_WIDTHS, SeiAdapter, build_spec, encode
from regvarbench.score import score_windows

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sei" / "sei_tiny.pth"  # widths 4, 21,907 outputs
L = SEI_INPUT_LENGTH
SMALL = {"widths": (8, 12, 16), "n_outputs": 10, "hidden": 12}
# cone vs full pass on profiles (probabilities): fp64 ~2e-16 observed, fp32 ~1e-7 observed
TOL = {"fp64": 1e-10, "fp32": 1e-6}
POSITIONS = (0, 1, 3, 17, 100, 1000, L // 2 - 1, L // 2, 3000, L - 40, L - 4, L - 1)  # centre and both edges


def scaled(model: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Convolution weights N(0, 1 / fan_in), classifier weights N(0, 0.01 / fan_in), biases N(0, 0.01):
    activations of order 1 and unsaturated sigmoids, so SNVs change the tower output by ~0.1 and
    profiles by far more than rounding (the default initialisation leaves ~1e-5)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear)):  # the head smaller: sigmoids not saturated
                gain = 0.1 if isinstance(m, torch.nn.Linear) else 1.0
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * gain / m.weight[0].numel() ** 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            elif isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return model.eval()


def substitute(seq: str, pos: int, alt: str) -> str:
    return seq[:pos] + alt + seq[pos + len(alt):]


def other_base(base: str, k: int = 1) -> str:
    return "ACGT"[("ACGT".index(base) + k) % 4] if base in "ACGT" else "ACGT"[k % 4]


def variant_set(n_refs: int = 3, seed: int = 0) -> tuple[list[str], list[str], list[int], dict[str, int]]:
    """References (some N) and alts: every POSITIONS SNV, MNVs, an N run, a shift, an unchanged copy."""
    rng = np.random.default_rng(seed)
    refs = ["".join(rng.choice(list("ACGTN"), L, p=[0.245, 0.245, 0.245, 0.245, 0.02])) for _ in range(n_refs)]
    alts, index = [], []
    for r, ref in enumerate(refs):
        for k, p in enumerate(POSITIONS):
            alts.append(substitute(ref, p, other_base(ref[p], 1 + (k + r) % 3)))
        for p, width in ((L // 2, 2), (5, 16), (L - 16, 16), (L - 9, 7)):  # MNVs: 2-16 bp spans
            alts.append(substitute(ref, p, "".join(other_base(b) for b in ref[p:p + width])))
        alts.append(substitute(ref, 2000, "NNNN"))  # N is 0.25 per channel: a change unless already N
        alts.append(substitute(ref, 1500, other_base(ref[1500]) + ref[1501:1516] + other_base(ref[1516])))  # span 17
        alts.append(ref[:L // 2] + ref[L // 2 + 1:] + "A")  # a deletion's shifted flank: full pass
        alts.append(ref)  # unchanged
        index += [r] * (len(alts) - len(index))
    n_cone = sum(1 for a, i in zip(alts, index) if a != refs[i]) - 2 * n_refs
    return refs, alts, index, {"cone": n_cone, "full": 2 * n_refs, "unchanged": n_refs}


@pytest.mark.parametrize("net", ["sei", "sei_like"])
def test_tower_patch_equals_tower_of_the_alt_in_fp64(net):
    """The patch, pasted into the reference tower output, is the alt's tower output (1e-10, fp64);
    sei_like adds eval-mode batch norm between blocks."""
    torch.manual_seed(0)
    if net == "sei":
        model = scaled(Sei(**SMALL)).double()
    else:
        model = scaled(SeiLike([8, 12, 16], 9, [2, 4, 8, 16, 25], 4, 0.2, 0.1, 16, 0.5, 8)).double()
    refs, alts, index, _ = variant_set(n_refs=2)
    x_ref = torch.from_numpy(encode(refs, dtype=np.float64))
    x_alt = encode(alts, dtype=np.float64)
    with torch.inference_mode():
        tower, cache = model.tower_reference(x_ref)
        assert torch.equal(tower, model.tower(x_ref))
        for w in CONE_WIDTHS:
            chunk = []
            for i, (alt, r) in enumerate(zip(alts, index)):
                changed = np.flatnonzero((x_alt[i] != x_ref[r].numpy()).any(axis=0))
                if len(changed) and changed[-1] - changed[0] < w:
                    chunk.append((i, r, min(int(changed[0]), L - w)))
            assert len(chunk) >= (len(POSITIONS) if w == 1 else 20)
            rows = torch.tensor([r for _, r, _ in chunk])
            lo = torch.tensor([lo for _, _, lo in chunk])
            vals = torch.from_numpy(np.stack([x_alt[i][:, s:s + w] for i, _, s in chunk]))
            patch = model.tower_patch(cache, rows, Patch(lo, vals))
            got = paste(tower, rows, patch)
            expected = model.tower(torch.from_numpy(x_alt[[i for i, _, _ in chunk]]))
            assert (expected - tower[rows]).abs().amax(dim=(1, 2)).min() > 1e-4  # every alt changes the output
            assert (got - expected).abs().max() < 1e-10


@pytest.mark.parametrize("precision", ["fp64", "fp32"])
@pytest.mark.parametrize("strand_average", [True, False])
def test_variant_profiles_match_full_passes(precision, strand_average):
    torch.manual_seed(0)
    spec = {"model_name": "sei", "cell_line": "HepG2", "tracks": [0, 4, 9], "batch_size": 4,
            "strand_average": strand_average}
    adapter = SeiAdapter(scaled(Sei(**SMALL)), spec, precision=precision)
    refs, alts, index, counts = variant_set()
    ref_p, alt_p = adapter.variant_profiles(lambda i: refs[i], len(refs), np.array(index), lambda i: alts[i],
                                            len(alts))
    assert adapter.last_variant_counts == counts
    full = adapter._profiles(lambda i: (refs + alts)[i], len(refs) + len(alts), 4)
    assert np.abs(ref_p - full[:len(refs)]).max() < TOL[precision]
    assert np.abs(alt_p - full[len(refs):]).max() < TOL[precision]
    effects = np.abs(full[len(refs):] - full[:len(refs)][index]).max(axis=1)
    assert np.sort(effects)[len(refs)] > 5e-6  # all but the unchanged alts change the profiles (SNVs ~1e-4)
    ref_s, alt_s = adapter.predict_variants(refs, np.array(index), alts)  # the adapter's scores
    np.testing.assert_allclose(alt_s, adapter.predict(alts), rtol=0, atol=TOL[precision])
    np.testing.assert_allclose(ref_s, adapter.predict(refs), rtol=0, atol=TOL[precision])


def test_alt_profiles_do_not_depend_on_the_other_variants():
    """Fixed-shape passes: the same variant gives the same bits alone or among others (fp32)."""
    torch.manual_seed(0)
    adapter = SeiAdapter(scaled(Sei(**SMALL)), {"model_name": "sei", "cell_line": "HepG2", "tracks": [0],
                                                "batch_size": 4}, precision="fp32")
    refs, alts, index, _ = variant_set()
    index = np.array(index)
    _, every = adapter.variant_profiles(lambda i: refs[i], 3, index, lambda i: alts[i], len(alts))
    mine = np.flatnonzero(index == 1)[[0, 5, 13]]
    _, few = adapter.variant_profiles(lambda i: refs[1], 1, np.zeros(3, dtype=np.int64), lambda i: alts[mine[i]], 3)
    np.testing.assert_array_equal(few, every[mine])


def test_score_windows_reuses_the_reference_in_genome_flanks_and_no_cone_turns_it_off(tmp_path):
    """score's default for sei: cone reuse, N-padded and in genome flanks; an indel's alt window
    (shifted right flank) gets a full pass; cone=False (--no-cone) gives full passes throughout."""
    rng = np.random.default_rng(5)
    chrom = "".join(rng.choice(list("ACGT"), 9000))
    (tmp_path / "g.fa").write_text(">chr1\n" + "".join(chrom[i:i + 60] + "\n" for i in range(0, 9000, 60)))
    rows = []
    for k, (start, offset) in enumerate([(3000, 500), (3000, 0), (3000, 999), (4000, 200)]):
        ref = chrom[start:start + 1000]
        rows.append({"variant_id": f"s{k}", "ref_seq": ref, "alt_seq": substitute(ref, offset, other_base(ref[offset])),
                     "chrom": "chr1", "window_start": start, "alt_start": start, "alt_end": start + 1000,
                     "variant_class": "snv"})
    ref = chrom[3000:4000]  # a 1-bp deletion at 3500: the alt window reads one base further
    rows.append({"variant_id": "del", "ref_seq": ref, "alt_seq": ref[:500] + chrom[3501:4001], "chrom": "chr1",
                 "window_start": 3000, "alt_start": 3000, "alt_end": 4001, "variant_class": "deletion"})
    windows = pd.DataFrame(rows).assign(dataset="d", cell_line="HepG2")
    torch.manual_seed(0)
    adapter = SeiAdapter(scaled(Sei(**SMALL)), {"model_name": "sei", "cell_line": "HepG2", "tracks": [0, 4, 9],
                                                "batch_size": 4}, precision="fp64")
    genome = Genome(tmp_path / "g.fa")
    try:
        cone = score_windows(adapter, windows, genome=genome)
        assert adapter.last_variant_counts == {"cone": 4, "full": 1, "unchanged": 0}
        adapter.last_variant_counts = {}
        full = score_windows(adapter, windows, genome=genome, cone=False)
        assert adapter.last_variant_counts == {}  # no cone path taken
    finally:
        genome.close()
    for col in ("ref_output", "alt_output", "score"):
        np.testing.assert_allclose(cone[col], full[col], rtol=0, atol=1e-10)
    assert (full["score"].abs() > 1e-6).all()
    padded = score_windows(adapter, windows)  # without a genome: N-padded windows, cone reuse as well
    assert adapter.last_variant_counts["cone"] == 4
    np.testing.assert_allclose(padded["alt_output"], score_windows(adapter, windows, cone=False)["alt_output"],
                               rtol=0, atol=1e-10)


def test_score_cli_no_cone_flag(tmp_path, caplog):
    """``regvarbench score`` on the sei fixture (published key names and 21,907 outputs), with the
    pipeline's --genome: the default (cone reuse) and --no-cone give the same scores (fp32)."""
    rng = np.random.default_rng(7)
    chrom = "".join(rng.choice(list("ACGT"), 7000))
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\n" + "".join(chrom[i:i + 60] + "\n" for i in range(0, 7000, 60)))
    ref = chrom[2000:3000]
    windows = pd.DataFrame({"variant_id": [f"v{p}" for p in (0, 480, 999)], "dataset": "toy", "cell_line": "HepG2",
                            "ref_seq": ref, "alt_seq": [substitute(ref, p, other_base(ref[p])) for p in (0, 480, 999)],
                            "chrom": "chr1", "window_start": 2000, "n_padded": 0})
    path = write_tsv(windows, tmp_path / "w" / "toy.windows.0.tsv")
    model = tmp_path / "sei__HepG2"
    write_spec(model, build_spec("sei", "HepG2", "HepG2:3,7,21906", sei_weights=str(FIXTURE)))
    out, logs = {}, {}
    for flag, name in (([], "cone"), (["--no-cone"], "full")):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="regvarbench.score"):
            assert cli.main(["score", "--model", str(model), "--windows", str(path), "--genome", str(genome),
                             "--outdir", str(tmp_path / name), *flag]) == 0
        out[name], logs[name] = read_tsv(tmp_path / name / "sei.toy.0.scores.tsv"), caplog.text
    assert "1 distinct references, 3 distinct alts (3 by cone reuse" in logs["cone"]
    assert "cone reuse" not in logs["full"] and "4 distinct inputs in genome flanks" in logs["full"]
    for col in ("ref_output", "alt_output", "score"):
        np.testing.assert_allclose(out["cone"][col], out["full"][col], rtol=0, atol=1e-6)
    assert (out["full"]["alt_output"] != out["full"]["ref_output"]).all()
