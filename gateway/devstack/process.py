"""What every launcher shares: one foreground child process we start, wait for, and stop ourselves.

A subclass says how to run its server (`_command`, `_env`), what "ready" means (`_ready`) and writes its
config (`write_config`); this base starts it in a session of its own with its output in a log under `workdir`,
waits until it serves, and stops exactly the PID it started (and what that process started).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

__all__ = ["ManagedServer", "log_tail", "spawn", "stop_process"]


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, or a note that there is none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def spawn(argv: Sequence[str], output: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start argv with stdout and stderr appended to `output`."""
    with open(output, "ab") as out:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal reaches us, not the server
        )


def _proc_stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a live process, from /proc; None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return int(fields[1]), fields[0], fields[19]


def _descendants(pid: int) -> list[tuple[int, str]]:
    """All descendants of pid as (pid, start time), so a reused PID is never mistaken for ours."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _proc_stat(int(entry.name))) is not None:
            children.setdefault(info[0], []).append((int(entry.name), info[2]))
    found: list[tuple[int, str]] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _alive(pid: int, start_time: str) -> bool:
    info = _proc_stat(pid)
    return info is not None and info[2] == start_time and info[1] != "Z"


def stop_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process by PID, wait; SIGKILL it if it hangs. Safe if it already exited.

    Its descendants (the Erlang VM's erl_child_setup and port programs run in sessions of their
    own) are waited for too, and killed if they outlive it, so nothing we started is left behind.
    """
    if proc.poll() is not None:
        return
    descendants = _descendants(proc.pid)
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
    except ProcessLookupError:  # exited between poll() and send_signal()
        proc.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while any(_alive(*d) for d in descendants) and time.monotonic() < deadline:
        time.sleep(0.01)  # they notice their parent is gone and exit within milliseconds
    for pid, start_time in descendants:
        if _alive(pid, start_time):
            os.kill(pid, signal.SIGKILL)


class ManagedServer(ABC):
    """Base of the launchers: start/stop/restart, readiness wait, `running`/`pid`, context manager."""

    name: ClassVar[str]  # the program, for messages
    config_file: ClassVar[str]
    log_file: ClassVar[str]  # where the process's output goes, unless _output_path() says otherwise
    poll_interval: ClassVar[float] = 0.02  # seconds between readiness probes

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir).resolve()
        self.config_path = self.workdir / self.config_file
        self.log_path = self.workdir / self.log_file
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what a subclass provides ------------------------------------------------------------

    @abstractmethod
    def write_config(self) -> Path: ...

    @abstractmethod
    def _command(self) -> list[str]: ...

    @abstractmethod
    def _ready(self) -> bool: ...

    def _env(self) -> dict[str, str] | None:
        return None  # inherit ours

    def _output_path(self) -> Path:
        """Where the process's stdout and stderr go."""
        return self.log_path

    def _logs(self) -> str:
        """What a failed start shows."""
        return f"log tail:\n{log_tail(self.log_path)}"

    def _awaited(self) -> str:
        """What start() waits for, for its timeout message."""
        return "serve"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    def start(self, timeout: float = 10) -> None:
        """Start the server and wait until it serves."""
        self._start_process(timeout)

    def _start_process(self, timeout: float) -> float:
        """Write the config, start the process, wait until `_ready()`; return the deadline."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        argv = self._command()
        self.write_config()
        proc = self._proc = spawn(argv, self._output_path(), self.workdir, self._env())
        deadline = time.monotonic() + timeout
        while not self._ready():
            if proc.poll() is not None:
                self._proc = None
                raise RuntimeError(f"{self.name} exited early (status {proc.returncode}); {self._logs()}")
            if time.monotonic() >= deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not {self._awaited()} within {timeout:g} s; {self._logs()}")
            time.sleep(self.poll_interval)
        return deadline

    def stop(self, timeout: float = 10) -> None:
        """Stop the process we started (SIGTERM to its PID, SIGKILL if it hangs). Idempotent."""
        if self._proc is not None:
            stop_process(self._proc, timeout)
            self._proc = None

    def restart(self) -> None:
        """Stop then start again on the same ports and with the same data."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
