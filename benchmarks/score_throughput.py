"""Variant-scoring throughput: cone reuse + dedup (ours) vs the study's per-dataset loop.

Same run, same machine, same cnn_small weights (random, seeded), same variants:
  (a) ours: ``score_windows`` (one float64 reference pass per distinct window, a receptive-field
      cone per single-base alt, fixed-size padded batches of 256);
  (a') ours with ``cone=False`` (dedup only, float64 batches of 32), for reference;
  (b) the study's approach: encode every ref and alt sequence, float32 forward passes in batches
      of 32, no reuse.
Two variant sets: saturation mutagenesis (``--positions`` positions x 3 alts inside one element,
each variant centred in its own ``--length`` window as `regvarbench windows` makes them) and
raQTL-shaped (``--snvs`` distinct SNVs, each with its own window). Then peak RSS of scoring
``--rss-variants`` and 10x as many raQTL-shaped variants in chunks of ``--chunk`` (one
subprocess each, VmHWM from /proc, falling back to ru_maxrss). Last line: ``RESULT satmut_vs_study=<x> raqtl_vs_study=<y>``.

    .venv/bin/python benchmarks/score_throughput.py            # ~3 min on 2 shared cores
"""

from __future__ import annotations

import argparse
import copy
import logging
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import torch

from regvarbench.models import cnn, load_model
from regvarbench.score import score_windows, variant_score

SPEC = {"model_name": "cnn_small_rand", "architecture": "cnn_small", "seed": 0}


def satmut_windows(positions: int, length: int, seed: int = 0) -> pd.DataFrame:
    """Every alt base at ``positions`` consecutive positions of one element; variant-centred windows."""
    rng = np.random.default_rng(seed)
    region = "".join(rng.choice(list("ACGT"), length + positions))
    rows = []
    for i in range(positions):
        window = region[i:i + length]  # the variant at index length // 2
        centre = length // 2
        for base in "ACGT":
            if base != window[centre]:
                rows.append((f"sm:{i}:{base}", window, window[:centre] + base + window[centre + 1:]))
    return to_table(rows, "satmut")


def raqtl_windows(n: int, length: int, seed: int = 1) -> pd.DataFrame:
    """``n`` distinct SNVs, each centred in its own window."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length))
    shift = rng.integers(1, 4, size=n)
    rows = []
    for i in range(n):
        ref = "".join(np.array(list("ACGT"))[codes[i]])
        alt_base = "ACGT"[(codes[i, length // 2] + shift[i]) % 4]
        rows.append((f"rq:{seed}:{i}", ref, ref[:length // 2] + alt_base + ref[length // 2 + 1:]))
    return to_table(rows, "raqtl")


def to_table(rows: list[tuple[str, str, str]], dataset: str) -> pd.DataFrame:
    return pd.DataFrame({"variant_id": [r[0] for r in rows], "dataset": dataset, "cell_line": "HepG2",
                         "ref_seq": [r[1] for r in rows], "alt_seq": [r[2] for r in rows], "n_padded": 0})


def study_scores(model: torch.nn.Module, windows: pd.DataFrame, batch_size: int = 32) -> np.ndarray:
    """The study's loop: all ref and alt sequences encoded, fp32 batches of 32, no reuse."""
    net = copy.deepcopy(model).float().eval()
    n = len(windows)
    x = cnn.encode(list(windows["ref_seq"]) + list(windows["alt_seq"])).float()
    out = np.empty(2 * n)
    with torch.inference_mode():
        for i in range(0, 2 * n, batch_size):
            out[i:i + batch_size] = torch.sigmoid(net(x[i:i + batch_size])).numpy()
    return variant_score(out[:n], out[n:])


def best_time(fn, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def compare(name: str, windows: pd.DataFrame, adapter, repeat: int) -> float:
    n = len(windows)
    t_ours, ours = best_time(lambda: score_windows(adapter, windows, batch_size=256), repeat)
    # batch 32 = the cone path's block size, so a/a' is the cone's own gain, not a batch-size effect
    t_dedup, dedup = best_time(lambda: score_windows(adapter, windows, batch_size=32, cone=False), repeat)
    t_study, study = best_time(lambda: study_scores(adapter.model, windows), repeat)
    diff_cone = np.abs(ours["score"].to_numpy() - dedup["score"].to_numpy()).max()
    diff_study = np.abs(ours["score"].to_numpy() - study).max()
    print(f"{name}: {n} variants, {windows['ref_seq'].nunique()} distinct reference windows")
    print(f"  (a)  ours, cone reuse + dedup      {n / t_ours:9.1f} variants/s  ({t_ours:.2f} s)")
    print(f"  (a') ours, --no-cone, batch 32     {n / t_dedup:9.1f} variants/s  ({t_dedup:.2f} s)")
    print(f"  (b)  study loop, fp32, batch 32    {n / t_study:9.1f} variants/s  ({t_study:.2f} s)")
    print(f"  ratios: a/b = {t_study / t_ours:.2f}, a'/b = {t_study / t_dedup:.2f}, a/a' = {t_dedup / t_ours:.2f}; "
          f"max |score diff| cone vs full {diff_cone:.1e}, ours (fp64) vs study (fp32) {diff_study:.1e}")
    return t_study / t_ours


def rss_child(n: int, chunk: int, length: int) -> None:
    """Score ``n`` raQTL-shaped variants chunk by chunk (as the pipeline's chunk files) and print peak RSS."""
    adapter = load_model({**SPEC, "input_length": length})
    total = 0
    for k, start in enumerate(range(0, n, chunk)):
        windows = raqtl_windows(min(chunk, n - start), length, seed=100 + k)
        total += len(score_windows(adapter, windows, batch_size=256))
    print(f"{total} {peak_rss_kib()}")


def peak_rss_kib() -> int:
    """This process's peak RSS: VmHWM (ru_maxrss of an exec'd child can report its parent's peak)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=300)
    parser.add_argument("--snvs", type=int, default=2000)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, the same for every method")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rss-variants", type=int, default=1000, help="0 skips the memory part")
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    if args.rss_child is not None:
        rss_child(args.rss_child, args.chunk, args.length)
        return
    adapter = load_model({**SPEC, "input_length": args.length})
    print(f"cnn_small (random weights, seed 0), {args.length} bp windows, torch {torch.__version__}, "
          f"{args.threads} thread(s)")
    satmut = compare("saturation mutagenesis", satmut_windows(args.positions, args.length), adapter, args.repeat)
    raqtl = compare("raQTL-shaped", raqtl_windows(args.snvs, args.length), adapter, args.repeat)
    if args.rss_variants:
        for n in (0, args.rss_variants, 10 * args.rss_variants):  # 0: imports + model only
            out = subprocess.run([sys.executable, __file__, "--rss-child", str(n), "--chunk", str(args.chunk),
                                  "--length", str(args.length), "--threads", str(args.threads)],
                                 check=True, capture_output=True, text=True).stdout.split()
            print(f"peak RSS scoring {int(out[0])} raQTL-shaped variants in chunks of {args.chunk}: "
                  f"{int(out[1]) / 1024:.0f} MiB")
    print(f"RESULT satmut_vs_study={satmut:.2f} raqtl_vs_study={raqtl:.2f}")


if __name__ == "__main__":
    main()
