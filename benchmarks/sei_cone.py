"""Published-size Sei: receptive-field (cone) reuse against full passes, for SNVs of one reference.

Full-size ``Sei()`` (889,979,983 parameters, seeded random weights, fp32, CPU) inside the
``sei`` adapter (both strands averaged, as the framework), one random 4,096-bp reference and
``--snvs`` SNVs at distinct random positions of its central 1 kb (where make-windows puts a
variant), each a random other base. Measured in the same run, process CPU seconds (and wall
seconds) of the best of ``--repeat``:

- full passes: ``SeiAdapter._profiles`` (what ``score --no-cone`` runs) over the reference and
  the alts, ``--snvs + 1`` inputs, one batch of that size (no padding);
- cone reuse: ``SeiAdapter.variant_profiles`` (``score``'s default) on the same inputs and batch
  size: the reference tower once with its activations cached, each alt's tower recomputed only
  inside its receptive cone (models/cone.py Patch machinery, ``Sei.tower_patch``), every tower
  output through the B-spline pooling and classifier.

Then the parts of the cone path timed on their own (reference tower, alt cones, head) and the
largest |difference| between the two paths' profiles and scores (HepG2 DNase/H3K27ac mean).
Last line: ``RESULT sei_cone_speedup=<full / cone CPU s> full_s_per_variant=<CPU s>
cone_s_per_variant=<CPU s> max_abs_diff=<profiles>`` (per variant: the time of the whole set
divided by ``--snvs``; both include the reference's pass). Needs ~6 GB of memory at the defaults;
``--widths``/``--n-outputs`` shrink the model for a quick look.

    .venv/bin/python benchmarks/sei_cone.py --snvs 15 --threads 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from regvarbench.models.sei import SEI_INPUT_LENGTH, SEI_OUTPUTS, SEI_WIDTHS, Sei
from regvarbench.models.sei_framework import SeiAdapter, encode, select_profiles


def _timed(fn, repeat: int):
    """(result, best CPU seconds, best wall seconds) of ``repeat`` calls."""
    best, out = (float("inf"), float("inf")), None
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        out = fn()
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    return out, best[0], best[1]


def snv_set(n: int, length: int, seed: int) -> tuple[str, list[str]]:
    """A random reference and ``n`` SNVs of it at distinct positions of its central 1 kb."""
    rng = np.random.default_rng(seed)
    ref = "".join(rng.choice(list("ACGT"), length))
    centre = np.arange(max(0, length // 2 - 500), min(length, length // 2 + 500))
    alts = []
    for p in rng.choice(centre, n, replace=False):
        base = rng.choice([b for b in "ACGT" if b != ref[p]])
        alts.append(ref[:p] + base + ref[p + 1:])
    return ref, alts


def part_times(adapter: SeiAdapter, ref: str, alts: list[str], repeat: int) -> dict[str, float]:
    """CPU seconds of the cone path's parts: reference tower, the alts' cones, the head on all inputs."""
    model, length, n = adapter.model, adapter.input_length, len(alts)
    with torch.inference_mode():
        x = torch.from_numpy(encode([ref]))
        (tower, cache), t_ref, _ = _timed(lambda: model.tower_reference(adapter._strands(x)), repeat)
        ref_codes = encode([ref])[0]
        chunk = []
        for i, alt in enumerate(alts):
            a = encode([alt])[0]
            lo = int(np.flatnonzero((a != ref_codes).any(axis=0))[0])
            chunk.append((i, 0, lo, a[:, lo:lo + 1]))
        towers, t_cone, _ = _timed(lambda: adapter._cone_towers(cache, chunk, length), repeat)
        heads = torch.cat([tower, towers.flatten(0, 1)])
        _, t_head, _ = _timed(lambda: model.head(heads), repeat)
    return {"reference tower (1 input, 2 strands)": t_ref, f"cones ({n} alts, 2 strands)": t_cone,
            f"head ({n + 1} inputs, 2 strands)": t_head}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--snvs", type=int, default=15, help="SNVs of the one reference (default 15)")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many timings (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--widths", type=int, nargs=3, default=list(SEI_WIDTHS), help="block widths (published)")
    parser.add_argument("--n-outputs", type=int, default=SEI_OUTPUTS, help="profiles (published 21,907)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    model = Sei(args.widths, args.n_outputs).eval()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; Sei {tuple(args.widths)}, "
          f"{args.n_outputs} outputs, {n_params:,} parameters (built in {time.perf_counter() - started:.0f} s)")
    tracks = select_profiles("HepG2") if args.n_outputs == SEI_OUTPUTS else list(range(min(18, args.n_outputs)))
    size = args.snvs + 1
    adapter = SeiAdapter(model, {"model_name": "sei", "cell_line": "HepG2", "tracks": tracks, "batch_size": size},
                         precision="fp32")
    ref, alts = snv_set(args.snvs, SEI_INPUT_LENGTH, args.seed)
    inputs = [ref, *alts]
    full, t_full, w_full = _timed(lambda: adapter._profiles(lambda i: inputs[i], size, size), args.repeat)
    (ref_p, alt_p), t_cone, w_cone = _timed(
        lambda: adapter.variant_profiles(lambda i: ref, 1, np.zeros(args.snvs, dtype=np.int64), lambda i: alts[i],
                                         args.snvs, size), args.repeat)
    assert adapter.last_variant_counts == {"cone": args.snvs, "full": 0, "unchanged": 0}
    cone = np.concatenate([ref_p, alt_p])
    diff = float(np.abs(cone - full).max())
    score_diff = float(np.abs(adapter._reduce(cone) - adapter._reduce(full)).max())
    effect = float(np.abs(full[1:] - full[:1]).max())
    n = args.snvs
    print(f"1 reference + {n} SNVs, batch {size} (inputs x 2 strands per pass)")
    print(f"full passes: {t_full:7.1f} CPU s ({w_full:6.1f} wall s), {t_full / n:6.2f} CPU s per variant")
    print(f"cone reuse:  {t_cone:7.1f} CPU s ({w_cone:6.1f} wall s), {t_cone / n:6.2f} CPU s per variant")
    print(f"speed-up: {t_full / t_cone:.2f}x CPU ({w_full / w_cone:.2f}x wall)")
    print(f"max |profile diff| {diff:.1e} (largest SNV effect on a profile {effect:.1e}); "
          f"max |score diff| {score_diff:.1e}")
    for name, seconds in part_times(adapter, ref, alts, args.repeat).items():
        print(f"  {name:38} {seconds:6.2f} CPU s")
    print(f"RESULT sei_cone_speedup={t_full / t_cone:.2f} full_s_per_variant={t_full / n:.2f} "
          f"cone_s_per_variant={t_cone / n:.2f} max_abs_diff={diff:.1e}")


if __name__ == "__main__":
    main()
