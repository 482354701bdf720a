"""`-profile slurm` on a real one-node SLURM cluster on loopback, started and stopped by the tests.

The cluster (munged, slurmctld, slurmd from Debian's slurm-wlm and munge, installed by
scripts/setup) lives in a temporary directory with its own key, sockets, ports, state and logs, so
it touches no system service. Its daemons are stopped by the process ids started here.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .helpers import ROOT, nextflow_env, read_trace, run_nextflow_env, tail_text

pytestmark = pytest.mark.pipeline

START_TIMEOUT = 60
# the test profile, shortened (the scheduling is under test): the motif baseline only, so every step
# still runs as a job (TRAIN writes its spec) but nothing is fitted; few SCORE tasks (one dataset per
# cell line), few bootstrap samples, no one-shot twins (training and ONESHOT run in test_pipeline.py)
FAST = ("--models", "motif_jaspar", "--bootstrap", "20", "--score_chunk_size", "5000", "--oneshot", "false",
        "--datasets", "sim_raqtl_HepG2,sim_raqtl_K562")
# Nextflow polls a grid scheduler every 15 s and squeue every minute by default: fine on a busy
# cluster, slow for a test. Only the polling changes; submission goes through sbatch as for users.
POLLING = "executor {\n  pollInterval = '2 sec'\n  queueStatInterval = '5 sec'\n  submitRateLimit = '50/1s'\n}\n"
SLURM_ID = re.compile(r"^(\d+)(?:_(\d+))?$")


@dataclass
class SlurmCluster:
    """A running cluster: its directory, slurm.conf and the environment that reaches it."""

    root: Path
    conf: Path
    jobcomp: Path
    env: dict

    def run(self, *cmd: str, timeout: int = 30) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)


def find_free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (held open together so they differ)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def read_memory_mb() -> int:
    with open("/proc/meminfo") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal:"))
    return kb // 1024


def write_slurm_conf(root: Path, munge_socket: Path) -> Path:
    """A one-node slurm.conf whose every path lives under root."""
    ctld_port, slurmd_port = find_free_ports(2)
    memory = read_memory_mb()
    # margin for the OS; at least 2 CPUs so the test profile's 2-CPU tasks fit on a 1-core box
    real_memory = max(memory - max(512, memory // 10), 1024)
    cpus = max(os.cpu_count() or 1, 2)
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    conf = root / "slurm.conf"
    conf.write_text(f"""\
ClusterName=regvarbench-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root / "state"}
SlurmdSpoolDir={root / "spool"}
SlurmctldPidFile={root / "slurmctld.pid"}
SlurmdPidFile={root / "slurmd.pid"}
SlurmctldLogFile={root / "slurmctld.log"}
SlurmdLogFile={root / "slurmd.log"}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={root / "jobcomp.log"}
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
DefMemPerCPU=1024
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
MinJobAge=600
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={real_memory} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
    # one GPU without a device file: lets --gres=gpu:1 jobs schedule, so GPU requests can be checked
    (root / "gres.conf").write_text("NodeName=localhost Name=gpu File=/dev/null\n")
    return conf


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each process started here (newest first), SIGKILL what does not exit."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def describe_failure(root: Path, why: str) -> str:
    logs = "\n".join(f"--- {name}:\n{tail_text(root / name, 15)}"
                     for name in ("munged.log", "slurmctld.log", "slurmd.log", "daemons.err"))
    return f"SLURM test cluster did not come up: {why}\n{logs}"


@pytest.fixture(scope="module")
def slurm_cluster():
    """A one-node SLURM cluster on 127.0.0.1 for this module; skips, saying why, where impossible."""
    if os.geteuid() != 0:
        pytest.skip("the SLURM test cluster runs its daemons as root; not root")
    binaries = {name: shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
                for name in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")}
    missing = [name for name, path in binaries.items() if not path]
    if missing:
        pytest.skip(f"SLURM/munge not installed ({', '.join(missing)} missing): run scripts/setup --test as root")

    root = Path(tempfile.mkdtemp(prefix="rvb-slurm-"))  # 0700: munged refuses group/world-writable dirs
    procs: list[subprocess.Popen] = []
    errors = open(root / "daemons.err", "w")
    try:
        key = root / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        munge_socket = root / "munge.socket"
        procs.append(subprocess.Popen(
            [binaries["munged"], "--foreground", "--force", f"--socket={munge_socket}", f"--key-file={key}",
             f"--log-file={root / 'munged.log'}", f"--pid-file={root / 'munged.pid'}",
             f"--seed-file={root / 'munged.seed'}"], stdout=errors, stderr=errors))
        conf = write_slurm_conf(root, munge_socket)
        env = dict(os.environ, SLURM_CONF=str(conf))
        env.pop("SLURM_JOB_ID", None)
        procs.append(subprocess.Popen([binaries["slurmctld"], "-D", "-f", str(conf)],
                                      env=env, stdout=errors, stderr=errors))
        procs.append(subprocess.Popen([binaries["slurmd"], "-D", "-N", "localhost", "-f", str(conf)],
                                      env=env, stdout=errors, stderr=errors))
        cluster = SlurmCluster(root=root, conf=conf, jobcomp=root / "jobcomp.log", env=env)

        deadline = time.monotonic() + START_TIMEOUT
        state = ""
        while time.monotonic() < deadline:
            dead = [p.args[0] for p in procs if p.poll() is not None]
            if dead:
                pytest.skip(describe_failure(root, f"{', '.join(map(str, dead))} exited"))
            proc = cluster.run(binaries["sinfo"], "-h", "-N", "-o", "%N %T")
            state = (proc.stdout + proc.stderr).strip()
            if state == "localhost idle":
                break
            time.sleep(1)
        else:
            pytest.skip(describe_failure(root, f"node not idle within {START_TIMEOUT} s (sinfo: {state!r})"))
        yield cluster

        # cancel whatever a failed or interrupted run left queued on this cluster
        jobs = cluster.run(binaries["squeue"], "-h", "-o", "%A").stdout.split()
        if jobs:
            cluster.run(binaries["scancel"], *jobs)
    finally:
        stop_processes(procs)
        errors.close()
        shutil.rmtree(root, ignore_errors=True)


def read_jobcomp(path: Path) -> list[dict]:
    """Records of jobcomp/filetxt: one line of KEY=VALUE fields per finished job."""
    if not path.exists():
        return []
    return [dict(field.split("=", 1) for field in line.split() if "=" in field)
            for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, nextflow, tmp_path_factory):
    """The test profile submitted to the cluster with -profile test,slurm."""
    workdir = tmp_path_factory.mktemp("nf_slurm")
    outdir = workdir / "results"
    polling = workdir / "polling.config"
    polling.write_text(POLLING)
    args = ("-profile", "test,slurm", "-c", str(polling), "--outdir", str(outdir), *FAST)
    env = nextflow_env({"SLURM_CONF": str(slurm_cluster.conf)})
    proc = run_nextflow_env(nextflow, workdir, env, *args, timeout=1500)
    assert proc.returncode == 0, (proc.stdout[-4000:] + proc.stderr[-3000:]
                                  + describe_failure(slurm_cluster.root, "(logs after the run)"))
    return workdir, outdir, args, env, proc


def test_every_task_is_a_slurm_job(slurm_run, slurm_cluster):
    _, outdir, _, _, proc = slurm_run
    trace = read_trace(outdir)
    assert trace and all(row["status"] == "COMPLETED" for row in trace)
    ids = {row["name"]: SLURM_ID.match(row["native_id"]) for row in trace}
    assert all(ids.values()), {name: row for name, row in ids.items() if not row}

    # SCORE went out as job arrays: its tasks are array children <jobid>_<index>
    score = [row for row in trace if row["process"].endswith(":SCORE")]
    assert score and all(SLURM_ID.match(row["native_id"]).group(2) is not None for row in score), score
    others = [row for row in trace if not row["process"].endswith(":SCORE")]
    assert all(SLURM_ID.match(row["native_id"]).group(2) is None for row in others)

    # the controller recorded each of them as a completed job
    records = read_jobcomp(slurm_cluster.jobcomp)
    assert records, f"no job completion records in {slurm_cluster.jobcomp}"
    completed = [r for r in records if r.get("JobState") == "COMPLETED"]
    jobs = {r["JobId"] for r in completed if "ArrayJobId" not in r}
    array_tasks = {f"{r['ArrayJobId']}_{r['ArrayTaskId']}" for r in completed if "ArrayJobId" in r}
    for row in trace:
        assert row["native_id"] in (array_tasks if "_" in row["native_id"] else jobs), row["native_id"]
    assert len(jobs) + len(array_tasks) == len(trace)


def test_resume_through_slurm_reruns_nothing_but_the_report(slurm_run, slurm_cluster, nextflow):
    """-resume submits one job: the report, which shows this run's metadata (run name, start, records)."""
    workdir, outdir, args, env, _ = slurm_run
    before = len(read_jobcomp(slurm_cluster.jobcomp))
    proc = run_nextflow_env(nextflow, workdir, env, *args, "-resume", timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    submitted = re.findall(r"Submitted process > (\S+)", proc.stdout)
    assert [name.split(":")[-1] for name in submitted] == ["REPORT"], submitted
    assert "Cached process" in proc.stdout
    assert len(read_jobcomp(slurm_cluster.jobcomp)) == before + 1


def test_gpu_profile_requests_gres_for_gpu_tasks_only(slurm_cluster, nextflow, tmp_path):
    """-profile slurm,gpu on the cluster (one GRES gpu, a stub run): --gres reaches the GPU-labelled
    TRAIN and ONESHOT jobs only."""
    polling = tmp_path / "polling.config"
    polling.write_text(POLLING)
    env = nextflow_env({"SLURM_CONF": str(slurm_cluster.conf)})
    proc = run_nextflow_env(nextflow, tmp_path, env, "-profile", "test,slurm,gpu", "-stub-run", "-c", str(polling),
                            "--outdir", str(tmp_path / "results"), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # finished jobs stay listed for MinJobAge seconds; %b is the job's GRES request
    listed = slurm_cluster.run("squeue", "-h", "-t", "all", "-o", "%i %b").stdout.split("\n")
    gres = dict(line.split(" ", 1) for line in listed if line.strip())
    trace = read_trace(tmp_path / "results")
    for row in trace:
        wanted = "gres:gpu:1" if row["process"].endswith((":TRAIN", ":ONESHOT")) else "N/A"  # label process_gpu
        assert gres.get(row["native_id"]) == wanted, (row["process"], row["native_id"], gres.get(row["native_id"]))
    assert any(row["process"].endswith(":TRAIN") for row in trace)


def split_config_blocks(text: str) -> dict[str, str]:
    """The printed `process { ... }` scope cut into its withLabel/withName blocks and the rest."""
    lines = text[text.index("\nprocess {") + 1:].splitlines()[1:]
    blocks: dict[str, list[str]] = {"process": []}
    current = "process"
    for line in lines:
        if line == "}":  # end of the process scope
            break
        match = re.match(r"^   (with(?:Label|Name):(?:'[^']+'|\S+)) \{$", line)  # selectors with ( ) ? are quoted
        if match:
            current = match.group(1)
            blocks[current] = []
        elif line == "   }":
            current = "process"
        else:
            blocks[current].append(line)
    return {name: "\n".join(body) for name, body in blocks.items()}


def test_gpu_request_only_on_gpu_processes(nextflow, tmp_path):
    """With -profile slurm,gpu only the process_gpu label asks for an accelerator and --gres."""
    proc = subprocess.run([nextflow, "config", "-profile", "slurm,gpu", str(ROOT)], cwd=tmp_path,
                          env=nextflow_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    blocks = split_config_blocks(proc.stdout)
    gpu = blocks.pop("withLabel:process_gpu")
    assert re.search(r"^\s*accelerator = 1$", gpu, flags=re.M), gpu
    assert "gpu_cluster_options" in gpu and "slurm_options" in gpu and "slurm_account" in gpu, gpu
    assert "--gres=gpu:${params.gpus}" in gpu and re.search(r"^\s*gpus = 1$", proc.stdout, flags=re.M)
    for name, block in blocks.items():
        assert "accelerator" not in block and "gres" not in block and "gpu_cluster_options" not in block, name
    assert "executor = 'slurm'" in blocks["process"]
