"""The command sandbox with real processes: the daemon, the SHELL wrapper, checks, bubblewrap."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.config import load_settings
from agent.contain import CommandSandbox, SandboxConfig, command_env
from agent.sandbox import bwrap_works

CANARY = "canary-7f3a"
needs_bwrap = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap unavailable")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    (path / ".git").mkdir(parents=True)
    (path / ".autocode").mkdir()
    (path / ".autocode" / "secret").write_text(CANARY)
    return path.resolve()


def _box(project: Path, monkeypatch: pytest.MonkeyPatch, **config: Any) -> Iterator[CommandSandbox]:
    monkeypatch.setenv("AUTOCODE_TEST_API_KEY", CANARY)
    monkeypatch.setenv("OPENCODE_SERVER_PASSWORD", CANARY)
    monkeypatch.setenv("MY_SETTING", "passed")
    records: list[dict[str, Any]] = []
    with CommandSandbox(SandboxConfig(**config), project, records.append) as box:
        yield box


@pytest.fixture(params=["none", pytest.param("bwrap", marks=needs_bwrap)])
def box(request: pytest.FixtureRequest, project: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[CommandSandbox]:
    yield from _box(project, monkeypatch, mode=request.param, env=["MY_SETTING"])


@pytest.fixture
def bwrap_box(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CommandSandbox]:
    if not bwrap_works():
        pytest.skip("bubblewrap unavailable")
    yield from _box(project, monkeypatch, mode="bwrap", network="none")


def test_a_check_reports_output_and_status_like_run_check(box: CommandSandbox, project: Path) -> None:
    result = box.check("echo out; echo err >&2; touch MARK; exit 3", project, 30)
    assert (result.ok, result.exit_code, result.timed_out) == (False, 3, False)
    assert "out" in result.output and "err" in result.output
    assert (project / "MARK").exists()
    assert box.check("read line || echo no-stdin", project, 30).output.strip() == "no-stdin"


def test_commands_get_only_the_allowlisted_environment(box: CommandSandbox, project: Path) -> None:
    result = box.check("env", project, 30)
    assert result.ok
    assert CANARY not in result.output
    assert "MY_SETTING=passed" in result.output  # listed in [sandbox] env
    names = {line.split("=", 1)[0] for line in result.output.splitlines()}
    assert not {n for n in names if "KEY" in n or "PASSWORD" in n or "TOKEN" in n}


def test_command_env_is_built_from_an_allowlist() -> None:
    host = {"PATH": "/bin", "LC_ALL": "C", "EXTRA": "1", "OPENAI_API_KEY": "x", "AWS_SECRET": "y", "HOME": "/h"}
    env = command_env(SandboxConfig(env=["EXTRA"], set_env={"GIVEN": "v"}), host)
    assert set(env) == {"PATH", "LC_ALL", "EXTRA", "GIVEN", "LANG", "HOME", "TMPDIR",
                        "NO_PROXY", "no_proxy"}


def test_a_timed_out_check_is_killed_with_its_children(box: CommandSandbox, project: Path) -> None:
    result = box.check("sleep 300 & echo $! > child.pid; sleep 300", project, 0.5)
    assert result.timed_out and not result.ok and result.exit_code is None
    assert "timed out" in result.output
    assert _gone(box, project, "child.pid")


def test_a_check_leaves_no_background_process(box: CommandSandbox, project: Path) -> None:
    result = box.check("sleep 300 > /dev/null 2>&1 & echo $! > child.pid", project, 30)
    assert result.ok
    assert _gone(box, project, "child.pid")


def _gone(box: CommandSandbox, project: Path, pid_file: str) -> bool:
    pid = (project / pid_file).read_text().strip()
    for _ in range(50):  # asked inside the sandbox: pids there are its own
        dead = f"[ ! -e /proc/{pid} ] || grep -q ') Z' /proc/{pid}/stat"  # gone, or a zombie
        if box.check(dead, project, 10).ok:
            return True
        time.sleep(0.1)
    return False


def _shell(box: CommandSandbox, command: str, cwd: Path) -> subprocess.Popen[bytes]:
    """The server's view: OpenCode runs ``$SHELL -c COMMAND`` detached, stdin ignored."""
    return subprocess.Popen([str(box.shell), "-c", command], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_the_shell_wrapper_behaves_like_bash(box: CommandSandbox, project: Path, tmp_path: Path) -> None:
    command = "echo \"$((6*7))\"; echo to-err >&2; touch MARK; exit 5"
    real = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True)
    wrapped = _shell(box, command, project)
    out, err = wrapped.communicate(timeout=30)
    assert (wrapped.returncode, out, err) == (real.returncode, real.stdout, real.stderr)
    assert (real.returncode, real.stdout, real.stderr) == (5, b"42\n", b"to-err\n")
    assert (project / "MARK").exists() and (tmp_path / "MARK").exists()


def test_a_background_job_outlives_its_command(box: CommandSandbox, project: Path) -> None:
    first = _shell(box, "sleep 300 > /dev/null 2>&1 & echo $! > job.pid", project)
    assert first.wait(timeout=30) == 0
    pid = (project / "job.pid").read_text().strip()
    assert box.check(f"kill -0 {pid}", project, 10).ok  # still running for the next command
    box.check(f"kill {pid}", project, 10)


def _ticks(project: Path) -> int:
    return len((project / "ticks").read_text().splitlines()) if (project / "ticks").exists() else 0


def test_a_judging_check_first_stops_every_process_the_agent_left_running(
        box: CommandSandbox, project: Path) -> None:
    """A background job (even one that left its group with setsid) could rewrite the tree while
    autocode checks it, or between the checks and the commit: judging stops them all first."""
    jobs = ("(while :; do echo t >> ticks; sleep 0.05; done) > /dev/null 2>&1 & "
            "setsid sh -c 'while :; do echo s >> ticks; sleep 0.05; done' > /dev/null 2>&1 &")
    assert _shell(box, jobs, project).wait(timeout=30) == 0
    for _ in range(200):
        if _ticks(project) >= 4:
            break
        time.sleep(0.05)
    assert _ticks(project) >= 4, "the jobs never ran"
    result = box.judging_check("echo judged", project, 30)
    assert result.ok and "judged" in result.output
    stopped = _ticks(project)
    time.sleep(0.5)
    assert _ticks(project) == stopped  # nothing writes any more
    later = _shell(box, "echo still works > after.txt", project)  # the sandbox itself lives on
    assert later.wait(timeout=30) == 0 and (project / "after.txt").read_text() == "still works\n"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_the_wrapper_kills_the_command_group(box: CommandSandbox, project: Path,
                                                     sig: signal.Signals) -> None:
    wrapper = _shell(box, "sleep 300 & echo $! > child.pid; sleep 300", project)
    for _ in range(100):
        if (project / "child.pid").exists() and (project / "child.pid").read_text().strip():
            break
        time.sleep(0.05)
    os.killpg(wrapper.pid, sig)  # what OpenCode does on timeout or abort
    wrapper.wait(timeout=30)
    assert _gone(box, project, "child.pid")


@needs_bwrap
def test_the_wall(bwrap_box: CommandSandbox, project: Path) -> None:
    probe = ("touch .git/planted 2>/dev/null; echo git=$?; echo autocode=$(ls -A .autocode | wc -l); "
             "echo x > /tmp/outside-$$ && echo tmp=$$; echo home=$(ls -A ~ | grep -c autocode-canary); "
             "echo procs=$(ls -d /proc/[0-9]* | wc -l); echo caps=$(grep CapEff /proc/self/status | cut -f2)")
    canary = Path.home() / f".autocode-canary-{os.getpid()}"
    canary.write_text("real home")
    try:
        result = bwrap_box.check(probe, project, 30)
    finally:
        canary.unlink()
    found = dict(line.split("=", 1) for line in result.output.split())
    assert found["git"] == "1" and not (project / ".git" / "planted").exists()  # .git is read-only
    assert found["autocode"] == "0"  # .autocode/ is an empty tmpfs
    assert not Path(f"/tmp/outside-{found['tmp']}").exists()  # a private /tmp
    assert found["home"] == "0"  # the real home is replaced (only autocode's Python is bound in)
    assert int(found["procs"]) < 10  # bwrap, the daemon, this command: nothing from the host
    assert int(found["caps"], 16) == 0


@needs_bwrap
def test_no_network_means_no_host_loopback(bwrap_box: CommandSandbox, project: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        connect = f"import socket; socket.create_connection(('127.0.0.1', {port}), 3)"
        result = bwrap_box.check(f"python3 -c \"{connect}\"", project, 30)
    assert not result.ok and "Connection refused" in result.output


def test_uncontained_parts_are_named() -> None:
    assert CommandSandbox(SandboxConfig(), Path("."), lambda _r: None).describe() == []
    gaps = CommandSandbox(SandboxConfig(mode="none", network="open"), Path("."), lambda _r: None).describe()
    assert len(gaps) == 2 and "no OS sandbox" in gaps[0] and "open" in gaps[1]


def test_the_sandbox_table_of_autocode_toml(tmp_path: Path) -> None:
    (tmp_path / "autocode.toml").write_text('[sandbox]\nmode = "none"\nnetwork = "none"\n'
                                            'allow_hosts = ["a.example"]\nenv = ["X"]\n')
    settings, sources = load_settings(tmp_path, {}, env={}, user_file=tmp_path / "none.toml")
    assert (settings.sandbox, settings.network, settings.allow_hosts, settings.sandbox_env) == (
        "none", "none", ["a.example"], ["X"])
    assert sources["network"] == "autocode.toml"
    settings, _ = load_settings(tmp_path, {}, env={"AUTOCODE_ALLOW_HOSTS": "b.example, c.example"},
                                user_file=tmp_path / "none.toml")
    assert settings.allow_hosts == ["b.example", "c.example"]
    (tmp_path / "autocode.toml").write_text('[sandbox]\nnetwrok = "none"\n')
    with pytest.raises(Exception, match="unknown \\[sandbox\\] setting 'netwrok'"):
        load_settings(tmp_path, {}, env={}, user_file=tmp_path / "none.toml")


def test_a_command_that_kills_the_daemon_does_not_break_later_checks(box: CommandSandbox,
                                                                      project: Path) -> None:
    box.check("kill -9 $PPID", project, 30)  # the daemon is the parent of every command
    result = box.check("echo still here", project, 30)
    assert result.ok and "still here" in result.output


@needs_bwrap
def test_doctor_prints_both_layers_and_the_allowlist(tmp_path: Path, private_state_home: Path) -> None:
    from agent.doctor import sandbox_command_line

    (tmp_path / "autocode.toml").write_text('[sandbox]\nallow_hosts = ["pkg.example"]\n')
    lines = sandbox_command_line(tmp_path).splitlines()
    server, box = lines[1], lines[3]
    assert "opencode" in server and " serve " in server and "bwrap" in server
    assert "--unshare-net" in box and "--cap-drop ALL" in box and "--tmpfs /tmp" in box
    assert lines[-1].endswith("pkg.example")
    assert str(private_state_home) in server  # the server's dir is named...
    assert list(private_state_home.iterdir()) == []  # ...but doctor, a read-only command, made nothing


@needs_bwrap
def test_host_unix_sockets_and_credential_dirs_outside_home_are_out_of_reach(
        project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not os.access("/run", os.W_OK) or not os.access("/var/tmp", os.W_OK):
        pytest.skip("needs a writable /run and /var/tmp to plant the targets")
    data_home = Path(f"/var/tmp/autocode-test-xdg-{os.getpid()}")
    (data_home / "opencode").mkdir(parents=True, exist_ok=True)
    (data_home / "opencode" / "auth.json").write_text(CANARY)
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    service = Path(f"/run/autocode-test-{os.getpid()}.sock")  # like /run/docker.sock
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(service))
    server.listen()
    probe = (f"cat {data_home}/opencode/auth.json; "
             f"python3 -c \"import socket; socket.socket(socket.AF_UNIX).connect('{service}')\"; echo done")
    try:
        with CommandSandbox(SandboxConfig(network="open"), project, lambda _r: None) as box:
            result = box.check(probe, project, 30)
    finally:
        server.close()
        service.unlink()
        (data_home / "opencode" / "auth.json").unlink()
        (data_home / "opencode").rmdir()
        data_home.rmdir()
    assert CANARY not in result.output and "No such file" in result.output
    assert "done" in result.output and result.output.count("No such file") == 2


@pytest.mark.parametrize("name", ["feature_list.json", "autocode-progress.md", "init.sh", "package.json"])
def test_files_autocode_reads_from_the_project_never_follow_a_link(tmp_path: Path, name: str) -> None:
    from agent.features import FeatureListProblem, load_features
    from agent.projectfs import read_project_file
    from agent.verify import detect_test_command

    secret = tmp_path / "host-secret"
    secret.write_text('[{"description": "x", "steps": []}] # autocode-test: leak "test"')
    project = tmp_path / "project"
    project.mkdir()
    (project / name).symlink_to(secret)
    assert secret.read_text() in (project / name).read_text()  # the link itself works
    assert read_project_file(project, name) is None
    with pytest.raises(FeatureListProblem):
        load_features(project)
    assert detect_test_command(project) is None
    os.mkfifo(project / "fifo")  # a FIFO would block a plain open
    assert read_project_file(project, "fifo") is None
    (project / "real.txt").write_text("fine")
    assert read_project_file(project, "real.txt") == "fine"


@pytest.mark.parametrize("mode", ["none", pytest.param("bwrap", marks=needs_bwrap)])
def test_stopping_the_sandbox_ends_the_background_jobs(project: Path, mode: str) -> None:
    marker = project / "job-alive"
    with CommandSandbox(SandboxConfig(mode=mode), project, lambda _r: None) as box:  # type: ignore[arg-type]
        job = _shell(box, "(while true; do touch job-alive; sleep 0.1; done) > /dev/null 2>&1 &", project)
        assert job.wait(timeout=30) == 0
        for _ in range(100):
            if marker.exists():
                break
            time.sleep(0.05)
    marker.unlink()
    time.sleep(0.5)
    assert not marker.exists()


@needs_bwrap
def test_a_worktree_gitdir_file_is_read_only_too(tmp_path: Path) -> None:
    project = tmp_path / "worktree"
    project.mkdir()
    (project / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n")
    with CommandSandbox(SandboxConfig(network="none"), project, lambda _r: None) as box:
        result = box.check("echo 'gitdir: .evil' > .git", project, 30)
    assert not result.ok and (project / ".git").read_text().startswith("gitdir: /elsewhere")


def test_runtime_dirs_of_dead_owners_are_removed(tmp_path: Path, project: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale, live = tmp_path / "autocode-run-stale", tmp_path / "autocode-run-live"
    for path, pid in ((stale, dead.pid), (live, os.getpid())):
        path.mkdir()
        (path / "owner").write_text(str(pid))
    with CommandSandbox(SandboxConfig(mode="none"), project, lambda _r: None, runtime_base=tmp_path) as box:
        assert box.runtime is not None and (box.runtime / "owner").read_text() == str(os.getpid())
    assert not stale.exists() and live.exists()


def test_every_dir_on_the_interpreters_link_chain_is_readable_in_the_sandbox(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A venv's python that links through a dir under the (hidden) home to the real binary, as a
    pyenv or uv install does: each hop's dir is bound, or the daemon cannot even start."""
    import sys

    from agent.sandbox import interpreter_dirs

    real = Path(sys.executable).resolve()
    venv_bin, home_bin = tmp_path / "venv" / "bin", tmp_path / "home" / ".pyenv" / "bin"
    venv_bin.mkdir(parents=True)
    home_bin.mkdir(parents=True)
    (home_bin / "python3").symlink_to(real)
    (venv_bin / "python3").symlink_to(home_bin / "python3")
    (venv_bin / "python").symlink_to("python3")  # a relative hop, resolved against its own dir
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    dirs = interpreter_dirs()
    assert venv_bin in dirs and home_bin in dirs and real.parent in dirs
    assert len(dirs) == len(set(dirs))
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "loop"))
    assert tmp_path in interpreter_dirs()  # a link loop ends, it does not hang


def test_a_command_is_routed_by_the_deepest_worker_dir_holding_its_working_directory() -> None:
    from agent.shellwrap import route

    routes = {"/s/worktrees/w1": "/r1/cmd.sock", "/s/worktrees/w10": "/r10/cmd.sock"}
    assert route("/main.sock", routes, "/s/worktrees/w1") == "/r1/cmd.sock"
    assert route("/main.sock", routes, "/s/worktrees/w1/src/app") == "/r1/cmd.sock"
    assert route("/main.sock", routes, "/s/worktrees/w10/src") == "/r10/cmd.sock"  # not w1's
    assert route("/main.sock", routes, "/s/worktrees/w1x") == "/main.sock"
    assert route("/main.sock", routes, "/s/worktrees") == "/main.sock"
    assert route("/main.sock", {}, "/anywhere") == "/main.sock"
