"""`-profile test,docker` on a real Docker daemon started (and stopped) by this module.

The daemon is Debian's dockerd (docker.io, installed by scripts/setup) on a private unix socket with
its own exec root, so it touches no system daemon. It makes no bridge and no iptables rules: the
image is built on the host network and the tasks run with `--network none`. Its data root is
persistent (~/.cache/regvarbench/docker, or $REGVARBENCH_DOCKER_ROOT), so the image built by
scripts/build-container (cached by a hash of its recipe) survives between runs on one machine. Only
the dockerd started here is stopped, by its process id.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .helpers import ROOT, nextflow_env, read_trace, run_nextflow_env, tail_text

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

START_TIMEOUT = 90
BUILD_TIMEOUT = 3600
DOCKER_ROOT = Path(os.environ.get("REGVARBENCH_DOCKER_ROOT",
                                  Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "regvarbench" / "docker"))
# the test profile, shortened: one epoch, few bootstrap samples (the container is under test)
# few SCORE tasks (one dataset per cell line), no one-shot twins (ONESHOT runs in test_pipeline.py's run)
FAST = ("--train_epochs", "1", "--bootstrap", "20", "--score_chunk_size", "5000", "--oneshot", "false",
        "--datasets", "sim_raqtl_HepG2,sim_raqtl_K562")


@dataclass
class DockerDaemon:
    """A running dockerd: the environment that reaches it and its log."""

    env: dict
    log: Path

    def run(self, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout)


def stop_daemon(proc: subprocess.Popen, exec_root: Path) -> None:
    """SIGTERM the dockerd started here; SIGKILL it, and the containerd it started, if it hangs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    # dockerd leaves its network namespace bind-mounted under the exec root
    netns = exec_root / "netns" / "default"
    if netns.exists():
        subprocess.run(["umount", str(netns)], capture_output=True)
    # dockerd stops its own containerd; one left behind by a killed dockerd goes by its pid file
    pidfile = exec_root / "containerd" / "containerd.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text().strip()), 15)
        except (ValueError, ProcessLookupError, PermissionError):
            pass


@pytest.fixture(scope="module")
def docker_daemon():
    """dockerd on a private socket for this module; skips, saying why, where it cannot run."""
    if os.geteuid() != 0:
        pytest.skip("the test's dockerd runs as root (rootless Docker is not set up here); not root")
    search = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    dockerd = shutil.which("dockerd", path=search)
    if not dockerd:
        pytest.skip("dockerd not installed: run scripts/setup --test as root (apt-get install docker.io)")
    if not shutil.which("docker"):
        pytest.skip("the docker client is not on PATH (Debian's docker.io provides it)")

    DOCKER_ROOT.mkdir(parents=True, exist_ok=True)
    # one daemon at a time may own the persistent data root
    lock = open(DOCKER_ROOT / "lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        pytest.skip(f"another test run's dockerd holds {DOCKER_ROOT}")

    # short paths: unix sockets are limited to ~107 characters
    run_dir = Path(tempfile.mkdtemp(prefix="rvb-docker-"))
    exec_root = run_dir / "exec"
    socket_path = run_dir / "docker.sock"
    log = run_dir / "dockerd.log"
    env = dict(os.environ, DOCKER_HOST=f"unix://{socket_path}")
    env.pop("DOCKER_CONTEXT", None)
    daemon = DockerDaemon(env=env, log=log)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [dockerd, f"--host=unix://{socket_path}", f"--data-root={DOCKER_ROOT / 'data'}",
             f"--exec-root={exec_root}", f"--pidfile={run_dir / 'dockerd.pid'}",
             "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.skip(f"dockerd exited with {proc.returncode} (cgroups or privileges missing?):\n"
                            f"{tail_text(log, 15)}")
            if socket_path.exists() and daemon.run("version", timeout=30).returncode == 0:
                break
            if time.monotonic() > deadline:
                pytest.skip(f"dockerd did not answer within {START_TIMEOUT} s:\n{tail_text(log, 15)}")
            time.sleep(1)
        yield daemon
    finally:
        stop_daemon(proc, exec_root)
        lock.close()
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def image(docker_daemon):
    """regvarbench:<version> built by scripts/build-container (nothing is rebuilt when cached)."""
    proc = subprocess.run([str(ROOT / "scripts" / "build-container"), "--", "--network", "host"],
                          env=docker_daemon.env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:] + tail_text(docker_daemon.log, 10)
    version = (ROOT / "pyproject.toml").read_text().split('version = "', 1)[1].split('"', 1)[0]
    return f"regvarbench:{version}"


def test_build_is_cached(docker_daemon, image):
    """A second build with an unchanged recipe builds nothing."""
    proc = subprocess.run([str(ROOT / "scripts" / "build-container")], env=docker_daemon.env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stderr and "building" not in proc.stderr


def test_image_holds_the_package_and_bedtools(docker_daemon, image):
    proc = docker_daemon.run("run", "--rm", "--network", "none", image, "sh", "-c",
                             "regvarbench --version && bedtools --version && python -c 'import torch, transformers'")
    assert proc.returncode == 0, proc.stderr
    assert "regvarbench" in proc.stdout and "bedtools" in proc.stdout


def image_python(daemon: DockerDaemon, image: str) -> str:
    proc = daemon.run("run", "--rm", "--network", "none", image, "python", "-c",
                      "import platform; print(platform.python_version())")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def read_versions(path: Path) -> dict[str, str]:
    """The `key: value` lines of a task's versions.yml (one process block)."""
    pairs = (line.strip().split(": ", 1) for line in path.read_text().splitlines() if line.startswith("    "))
    return {key: value for key, value in pairs}


def test_pipeline_runs_every_task_in_the_container(docker_daemon, image, nextflow, tmp_path):
    outdir = tmp_path / "results"
    env = nextflow_env({"DOCKER_HOST": docker_daemon.env["DOCKER_HOST"]})
    proc = run_nextflow_env(nextflow, tmp_path, env, "-profile", "test,docker", "--outdir", str(outdir),
                            "--container", image, *FAST, timeout=2400)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:] + tail_text(docker_daemon.log, 10)

    trace = read_trace(outdir)
    assert trace and all(row["status"] == "COMPLETED" for row in trace)
    assert {row["container"] for row in trace} == {image}, {row["name"]: row["container"] for row in trace}

    # each task was launched with `docker run` on the image, without a network, and its own
    # versions.yml reports the image's interpreter
    python = image_python(docker_daemon, image)
    for row in trace:
        (workdir,) = (tmp_path / "work").glob(f"{row['hash']}*")
        wrapper = (workdir / ".command.run").read_text()
        assert "docker run" in wrapper and image in wrapper and "--network none" in wrapper, row["name"]
        versions = workdir / "versions.yml"
        if versions.exists():
            assert read_versions(versions)["python"] == python, (row["name"], read_versions(versions))
