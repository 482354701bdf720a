"""Benchmark torch's OpenMP wait policy for pipeline tasks that share cores.

Each job is a separate Python process that trains a small 1-D CNN (cnn_small-like widths, 1 kb
one-hot inputs, batch 32, random data with a fixed seed) for a fixed number of steps with
``torch.set_num_threads(--threads)``, as a TRAIN task does. Timed, in one run on the same machine:

* one job alone and ``--jobs`` jobs at once, with ``OMP_WAIT_POLICY=ACTIVE`` (threads spin between
  parallel regions: libgomp's behaviour when the variable is unset and the process asked for more
  than one thread) and with ``PASSIVE`` (threads sleep; nextflow.config's default for tasks);
* every job prints a checksum of its final weights: both policies must give the same numbers.

Prints the wall times and ``RESULT shared_active_over_passive=<x>`` (the wall time of the concurrent
jobs, ACTIVE over PASSIVE). Run: ``.venv/bin/python benchmarks/omp_wait_policy.py``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

JOB = """
import sys, torch
torch.manual_seed(0)
torch.set_num_threads(int(sys.argv[1]))
net = torch.nn.Sequential(
    torch.nn.Conv1d(4, 64, 15, padding=7), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
    torch.nn.Conv1d(64, 64, 11, padding=5), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
    torch.nn.Conv1d(64, 64, 7, padding=3), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool1d(1),
    torch.nn.Flatten(), torch.nn.Linear(64, 1))
optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
x = torch.nn.functional.one_hot(torch.randint(0, 4, (32, 1000)), 4).float().transpose(1, 2)
y = torch.randint(0, 2, (32, 1)).float()
for _ in range(int(sys.argv[2])):
    optimiser.zero_grad()
    torch.nn.functional.binary_cross_entropy_with_logits(net(x), y).backward()
    optimiser.step()
print(float(sum(p.detach().double().sum() for p in net.parameters())))
"""


def run_jobs(policy: str, jobs: int, threads: int, steps: int) -> tuple[float, set[str]]:
    """Start ``jobs`` training processes at once under ``policy``; wait for all of them.

    Parameters
    ----------
    policy : str
        The value of OMP_WAIT_POLICY given to every job (ACTIVE or PASSIVE).
    jobs, threads, steps : int
        Concurrent processes, torch intra-op threads per process, optimiser steps per process.

    Returns
    -------
    tuple[float, set[str]]
        Wall seconds until the last job ended, and the set of weight checksums the jobs printed.
    """
    env = dict(os.environ, OMP_WAIT_POLICY=policy)
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", JOB, str(threads), str(steps)], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(jobs)]
    outputs = [proc.communicate()[0].strip() for proc in procs]
    wall = time.perf_counter() - start
    if any(proc.returncode for proc in procs):
        raise SystemExit(f"a job failed under OMP_WAIT_POLICY={policy}")
    return wall, set(outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="concurrent jobs (default 2)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                        help="torch threads per job (default: all cores, as a task with cpus = the node's)")
    parser.add_argument("--steps", type=int, default=150, help="optimiser steps per job (default 150)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; each job {args.threads} threads, {args.steps} steps")
    times, sums = {}, set()
    for policy in ("ACTIVE", "PASSIVE"):
        for jobs in (1, args.jobs):
            wall, checksums = run_jobs(policy, jobs, args.threads, args.steps)
            times[policy, jobs] = wall
            sums |= checksums
            print(f"OMP_WAIT_POLICY={policy:7s} {jobs} job(s) at once: {wall:6.1f} s")
    if len(sums) != 1:
        raise SystemExit(f"the policies gave different weights: {sorted(sums)}")
    print(f"same weights under both policies ({sums.pop()})")
    print(f"alone: ACTIVE/PASSIVE {times['ACTIVE', 1] / times['PASSIVE', 1]:.2f}x")
    print(f"RESULT shared_active_over_passive={times['ACTIVE', args.jobs] / times['PASSIVE', args.jobs]:.2f}")


if __name__ == "__main__":
    main()
