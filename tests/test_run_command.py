"""`make run` on a fresh machine: one command brings up web, worker and beat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
import requests

from tests.support.net import free_port
from tests.support.subproc import ROOT, clean_env
from tests.support.worker import wait_until

pytestmark = [pytest.mark.slow]


def test_run_starts_everything_seeds_the_demo_host_and_stops_on_ctrl_c(tmp_path):
    proc, lines, port, sandbox_port = _start_run(tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base + "/healthz"), timeout=120, message="".join(lines))
        wait_until(lambda: any("ready." in line for line in lines), timeout=60)
        wait_until(lambda: any("beat: Starting" in line for line in lines), timeout=60)
        assert any("Demo login: demo@example.com / demo-password" in line for line in lines)
        # Links printed, shown in Setup and emailed point at this server's port.
        assert any(f"{base}/book/demo/" in line for line in lines), "".join(lines)

        session = requests.Session()
        login = session.get(base + "/accounts/login/")
        page = session.post(
            base + "/accounts/login/",
            data={
                "username": "demo@example.com",
                "password": "demo-password",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": login.url},
        )
        assert page.url == base + "/setup/"
        assert "Calendar integration" in page.text
        assert f'href="{base}/book/demo/"' in session.get(base + "/setup/booking-pages/").text
        assert (tmp_path / "db.sqlite3").exists()
        _check_graph_sandbox(tmp_path, port=port, sandbox_port=sandbox_port, lines=lines)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0, "".join(lines)
    assert not _answers(base + "/healthz")


def _check_graph_sandbox(tmp_path, *, port: int, sandbox_port: int, lines: list[str]) -> None:
    """The sandbox child answers over TLS, and the web server shows its pages."""
    assert any("Microsoft sign-in (sandbox): adele@contoso.example" in line for line in lines)
    assert any(f"{port}/graph-sandbox/" in line for line in lines)
    tls = requests.Session()
    tls.trust_env = False
    tls.verify = str(tmp_path / "graph_sandbox" / "ca.pem")
    discovery = f"https://localhost:{sandbox_port}/common/v2.0/.well-known/openid-configuration"
    wait_until(lambda: _answers(discovery, session=tls), timeout=60, message="".join(lines))
    config = tls.get(discovery, timeout=5).json()
    assert config["token_endpoint"] == f"https://localhost:{sandbox_port}/common/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == (
        f"http://127.0.0.1:{port}/graph-sandbox/common/oauth2/v2.0/authorize"
    )
    people = requests.get(f"http://127.0.0.1:{port}/graph-sandbox/", timeout=5)
    assert people.status_code == 200
    assert "Adele Vance" in people.text
    assert (tmp_path / "graph_sandbox.sqlite3").exists()


def _answers(url: str, session: requests.Session | None = None) -> bool:
    try:
        return (session or requests).get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_seed_demo_is_idempotent(tmp_path):
    env = clean_env(DEBUG="1", VAR_DIR=str(tmp_path))
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, timeout=120
        )
        assert done.returncode == 0
        seeded = subprocess.run(
            [sys.executable, "manage.py", "seed_demo"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert seeded.returncode == 0, seeded.stderr
    assert "Found the demo host." in seeded.stdout
    assert os.path.exists(tmp_path / "db.sqlite3")


def _children_of(pid: int) -> list[int]:
    """The ids of the processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_closing_the_terminal_stops_every_child(tmp_path):
    """Closing the terminal sends SIGHUP: web, worker, beat and sandbox stop with it,
    instead of living on and holding the port the next `make run` needs."""
    proc, lines, port, _ = _start_run(tmp_path)
    children: list[int] = []
    try:
        wait_until(
            lambda: _answers(f"http://127.0.0.1:{port}/healthz"),
            timeout=120,
            message="".join(lines),
        )
        wait_until(lambda: any("ready." in line for line in lines), timeout=60)
        children = _children_of(proc.pid)
        assert len(children) == 4, "".join(lines)
        proc.send_signal(signal.SIGHUP)
        proc.wait(30)
        wait_until(lambda: not any(_alive(pid) for pid in children), timeout=30)
    finally:
        for pid in children:
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not _answers(f"http://127.0.0.1:{port}/healthz")


def test_the_printed_address_works_when_listening_on_every_interface(tmp_path):
    """HOST=0.0.0.0 listens everywhere, but http://0.0.0.0:port/ is no address to open."""
    proc, lines, _, _ = _start_run(tmp_path, HOST="0.0.0.0")  # noqa: S104
    try:
        started = wait_until(
            lambda: next((line for line in lines if "is starting on" in line), None),
            timeout=120,
            message="".join(lines),
        )
        url = started.split("is starting on ", 1)[1].split()[0].rstrip("/")
        wait_until(lambda: _answers(url + "/healthz"), timeout=60, message=started)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


def test_a_taken_sandbox_port_is_named_with_the_variable_that_moves_it(tmp_path):
    """Someone else's server on 8443 is common; say so instead of a traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "manage.py", "run_graph_sandbox", "--port", str(port)],
            cwd=ROOT,
            env=clean_env(DEBUG="1", VAR_DIR=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert f"Port {port} is already in use" in done.stderr
    assert "GRAPH_SANDBOX_PORT" in done.stderr
    assert "Traceback" not in done.stderr


def _start_run(tmp_path, **extra_env: str):
    """`manage.py run` on free ports with its state under tmp_path; its output lines
    collect in a list as they come."""
    port, sandbox_port = free_port(), free_port()
    env = clean_env(
        DEBUG="1",
        VAR_DIR=str(tmp_path),
        PORT=str(port),
        GRAPH_SANDBOX_PORT=str(sandbox_port),
        **extra_env,
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    return proc, lines, port, sandbox_port
