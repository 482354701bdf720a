"""Faults survived: a driver killed during SCORE resumes to byte-identical tables, a killed SCORE
task is retried, and a damaged weights file or windows chunk stops its task with a message naming
the file, the model and the dataset.

Runs are small (`-profile test` with cnn_small trained for one epoch and the motif baseline, on
the two raQTL datasets, scoring chunks of 100 variants so SCORE has 12 tasks). The reference is an uninterrupted run of
the same command in another folder.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .helpers import ROOT, nextflow_env, run_nextflow, tail_text

pytestmark = [pytest.mark.pipeline, pytest.mark.slow, pytest.mark.faults]

ARGS = ("-profile", "test", "--models", "cnn_small,motif_jaspar", "--oneshot", "false", "--train_epochs", "1",
        "--datasets", "sim_raqtl_HepG2,sim_raqtl_K562", "--score_chunk_size", "100", "--score_chunks_per_task", "1")
# what a rerun must reproduce byte for byte (the report embeds run metadata such as times)
COMPARED = ("evaluation/tables", "variants", "models")
WAIT_S = 900


def published_files(outdir: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every compared output file."""
    out = {}
    for rel in COMPARED:
        for f in sorted((outdir / rel).rglob("*")):
            if f.is_file():
                out[str(f.relative_to(outdir))] = f.read_bytes()
    return out


def score_task_processes(workdir: Path) -> list[tuple[int, Path]]:
    """(pid, task directory) of every running `regvarbench score` process started under workdir."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if any(a.endswith(b"regvarbench") for a in argv) and b"score" in argv and workdir in cwd.parents:
            found.append((int(entry.name), cwd))
    return found


def recorded_score_tasks(workdir: Path) -> int:
    """SCORE tasks the driver has recorded as completed (exit 0) in its log: the ones its cache holds.

    A task whose .exitcode the driver has not yet polled when it is killed is, rightly, run again
    on -resume (Nextflow learns of a task's end by polling); so the test waits for the driver's own
    record, not for the task's exit file.
    """
    log = workdir / ".nextflow.log"
    if not log.is_file():
        return 0
    return len(re.findall(r"Task completed > TaskHandler\[[^\]]*name: \S+:SCORE \([^)]*\); status: COMPLETED; exit: 0;",
                          log.read_text(errors="replace")))


def wait_until(what: str, check, proc: subprocess.Popen, log: Path, timeout: float = WAIT_S):
    """Poll check() until it returns something truthy; fail if the run ends or time runs out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    nxf_log = log.parent / ".nextflow.log"  # the executor's own account of queued and running tasks
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}\n--- {nxf_log}:\n{tail_text(nxf_log, 40)}")


@pytest.fixture(scope="module")
def reference(nextflow, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("nf_faults_reference")
    proc = run_nextflow(nextflow, workdir, *ARGS, "--outdir", str(workdir / "results"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return published_files(workdir / "results")


@pytest.fixture(scope="module")
def interrupted(nextflow, tmp_path_factory):
    """A run whose first SCORE task is killed (-9), then whose driver is killed (-9) mid-SCORE."""
    workdir = tmp_path_factory.mktemp("nf_faults_killed")
    outdir = workdir / "results"
    log = workdir / "driver.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([nextflow, "run", str(ROOT), "-ansi-log", "false", *ARGS, "--outdir", str(outdir)],
                                cwd=workdir, env=nextflow_env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        pid, task_dir = wait_until("a SCORE task runs", lambda: next(iter(score_task_processes(workdir)), None),
                                   proc, log)
        os.kill(pid, signal.SIGKILL)
        retried = wait_until("Nextflow retries the killed task",
                             lambda: re.search(r"SCORE \(([^)]+)\)` terminated with an error exit status \(137\)"
                                               r" -- Execution is retried", log.read_text()), proc, log)
        wait_until("the driver records a few finished SCORE tasks", lambda: recorded_score_tasks(workdir) >= 3, proc, log)
        time.sleep(2)  # the cache entry is written just after the log line (an asynchronous writer)
        os.kill(proc.pid, signal.SIGKILL)  # the driver: no shutdown, no cache flush
        proc.wait(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its tasks die with it, as on a lost node
        except ProcessLookupError:
            pass
    assert proc.returncode == -signal.SIGKILL
    resumed = run_nextflow(nextflow, workdir, *ARGS, "--outdir", str(outdir), "-resume")
    return workdir, outdir, retried.group(1), task_dir, log.read_text(), resumed


def test_killed_task_is_retried_and_killed_driver_resumes(interrupted, reference):
    _, outdir, retried_tag, _, _, resumed = interrupted
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    # the resumed run reused what finished before the kill and ran what did not
    cached = re.findall(r"Cached process > \S+:SCORE \(([^)]+)\)", resumed.stdout)
    rerun = re.findall(r"Submitted process > \S+:SCORE \(([^)]+)\)", resumed.stdout)
    assert len(cached) >= 3 and rerun, resumed.stdout[-3000:]
    assert re.search(r"Cached process > \S+:TRAIN", resumed.stdout)
    assert retried_tag  # e.g. cnn_small.sim_raqtl_HepG2.00003
    assert published_files(outdir) == reference  # byte-identical to the uninterrupted run


@pytest.mark.parametrize("damage", ["weights", "windows"])
def test_damaged_file_fails_its_task_naming_file_model_and_dataset(interrupted, nextflow, damage):
    """A weights file or windows chunk damaged in the work folder (a disk error, a partial copy):
    rerun with a scoring setting changed, every SCORE runs again and the one reading the damaged
    file fails with one message naming it; the error summary names the task (model, dataset)."""
    workdir, outdir, _, _, _, resumed = interrupted
    assert resumed.returncode == 0
    if damage == "weights":
        target = next(p for p in (workdir / "work").glob("*/*/cnn_small__K562/model.pt") if not p.is_symlink())
    else:
        target = next(p for p in (workdir / "work").glob("*/*/sim_raqtl_HepG2.windows.00001.tsv.gz")
                      if not p.is_symlink())
    original = target.read_bytes()
    try:
        target.write_bytes(original[: len(original) // 3] + b"\xff\xfe\x00\x9c" * 16)
        proc = run_nextflow(nextflow, workdir, *ARGS, "--outdir", str(workdir / f"results_{damage}"), "-resume",
                            "--score_batch_size", "64")
    finally:
        target.write_bytes(original)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text[-3000:]
    tag = re.search(r"Error executing process > '\S+:SCORE \(([^)]+)\)'", text)
    assert tag, text[-3000:]
    model, dataset = {"weights": ("cnn_small", "K562"), "windows": (None, "sim_raqtl_HepG2")}[damage]
    assert (model is None or tag.group(1).startswith(model + ".")) and dataset in tag.group(1), tag.group(1)
    assert target.name in text and "Traceback" not in text, text[-3000:]
