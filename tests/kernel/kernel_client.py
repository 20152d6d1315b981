"""Shared helpers for the Python-side kernel tests: start efflab, run cells, collect outputs."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from jupyter_client.manager import start_new_kernel

TIMEOUT = 60


def start(cwd: str | None = None):
    """Starts an efflab kernel in an empty folder (no node_modules) and returns (km, kc)."""
    folder = cwd or tempfile.mkdtemp(prefix="efflab-nb-")
    return start_new_kernel(kernel_name="efflab", cwd=folder, startup_timeout=TIMEOUT)


def shell_reply(kc, msg_id: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The shell reply to `msg_id` (other replies are skipped)."""
    deadline = time.time() + timeout
    while True:
        msg = kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def iopub_until_idle(kc, msg_id: str, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """iopub messages whose parent is `msg_id`, up to its idle status."""
    out = []
    deadline = time.time() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out
        out.append(msg)


def run(kc, code: str, timeout: float = TIMEOUT, **kwargs) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Executes `code`; returns (reply content, iopub outputs)."""
    msg_id = kc.execute(code, **kwargs)
    reply = shell_reply(kc, msg_id, timeout)
    outs = iopub_until_idle(kc, msg_id, timeout)
    return reply["content"], outs


def result_text(outs: list[dict[str, Any]]) -> str | None:
    """text/plain of the execute_result among `outs`, if any."""
    for m in outs:
        if m["msg_type"] == "execute_result":
            return m["content"]["data"].get("text/plain")
    return None


def kernel_pid(km) -> int:
    """The kernel process id."""
    return km.provisioner.process.pid


def rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


os.environ.setdefault("EFFLAB_HISTORY_DIR", tempfile.mkdtemp(prefix="efflab-history-"))
