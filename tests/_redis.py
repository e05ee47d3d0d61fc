"""A real ``redis-server`` for the tests where state is shared between instances.

The test command sets it up itself, as it does the line venvs: the binary is taken from ``PATH``
(or ``FL_REDIS_SERVER``); where it is missing and the tests run as root on Debian, Debian's
``redis-server`` package is installed with ``apt-get``.  Without a binary and without a way to
install one, the tests that need it skip and say why.  Each server listens on a free loopback
port, keeps nothing on disk and is stopped when the session ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RedisServer", "find_or_install", "start"]


@dataclass
class RedisServer:
    """One running server: where it listens and its process."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path

    def command(self, *args: str) -> str:
        """One command sent with ``redis-cli``-free RESP over a socket (the reply's first line)."""
        payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection((self.host, self.port), timeout=5) as conn:
            conn.sendall(payload.encode())
            return conn.recv(65536).decode(errors="replace").split("\r\n", 1)[0]

    def flush(self) -> None:
        """Empty every database."""
        assert self.command("FLUSHALL") == "+OK"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _apt_install() -> str:
    """Install Debian's redis-server (refreshing the package lists once if the first try fails)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "redis-server"]
    first = subprocess.run(install, check=False, capture_output=True, text=True, env=env, timeout=600)
    if first.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, env=env, timeout=600)
        second = subprocess.run(install, check=False, capture_output=True, text=True, env=env, timeout=600)
        if second.returncode != 0:
            return f"apt-get install redis-server failed: {second.stderr.strip()[-500:]}"
    return ""


_install_lock = threading.Lock()


def find_or_install() -> tuple[str | None, str]:
    """The path of a redis-server binary, or None and why there is none (one thread at a time)."""
    with _install_lock:
        return _find_or_install()


def _find_or_install() -> tuple[str | None, str]:
    explicit = os.environ.get("FL_REDIS_SERVER")
    if explicit:
        return (explicit, "") if Path(explicit).is_file() else (None, f"FL_REDIS_SERVER={explicit} is missing")
    found = shutil.which("redis-server")
    if found:
        return found, ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "no redis-server on PATH, and apt-get cannot install one here (not root on Debian)"
    failure = _apt_install()
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file()
                                             else None)
    return found, failure or ("" if found else "apt-get installed redis-server but no binary was found")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(binary: str) -> RedisServer:
    """A fresh server on a free loopback port, with no persistence; waits until it answers PING."""
    workdir = Path(tempfile.mkdtemp(prefix="fl-redis-"))
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer("127.0.0.1", port, process, workdir)
    deadline = time.monotonic() + 20
    while True:
        try:
            if server.command("PING") == "+PONG":
                return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"redis-server on port {port} did not start (exit code {process.poll()})")
        time.sleep(0.05)
