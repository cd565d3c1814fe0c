# SPDX-License-Identifier: Apache-2.0

"""Shared helpers of the libenos tests: paths, the library, and enos-sim as a child process.

Environment:
  ENOS_LIBRARY  the libenos.so to test (default: <repo>/build/libenos.so)
  ENOS_SIM      the enos-sim binary (default: <repo>/build/enos-sim)
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Any, Callable, Dict, List, Optional

PY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(PY_DIR)
LIB = os.environ.setdefault("ENOS_LIBRARY", os.path.join(ROOT, "build", "libenos.so"))
SIM = os.environ.get("ENOS_SIM", os.path.join(ROOT, "build", "enos-sim"))

if PY_DIR not in sys.path:
    sys.path.insert(0, PY_DIR)

import libenos  # noqa: E402
from libenos import _lib  # noqa: E402

PK, DK, SECRET = "MuGsF6W4", "15bBZlRknc", "sMgTXBUvDNeWGAJWnDcT"


def require(*symbols: str) -> Callable[[Any], Any]:
    """Skip a test (or class) when the loaded library lacks one of ``symbols``
    (an older library may lack some exports)."""
    lib = _lib.load()
    missing = [s for s in symbols if not lib.has(s)]
    if missing:
        return unittest.skip(f"libenos {lib.version} at {lib.path} lacks {', '.join(missing)}")
    return lambda x: x


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class Sim:
    """enos-sim on a free loopback port with its control channel and a JSON-lines log."""

    def __init__(self, *args: str, devices: Optional[List[str]] = None, listen: str = "127.0.0.1:0") -> None:
        if not os.access(SIM, os.X_OK):
            raise unittest.SkipTest(f"enos-sim not built at {SIM} (run make)")
        self.dir = tempfile.mkdtemp(prefix="enos-sim-")
        self.log = os.path.join(self.dir, "records.jsonl")
        cmd = [SIM, "--listen", listen, "--control", "127.0.0.1:0", "--log", self.log]
        for d in devices or [f"{PK}:{DK}:{SECRET}"]:
            cmd += ["--device", d]
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self.stderr: List[str] = []
        self.control: Optional[str] = None
        self._control_seen = threading.Event()
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.match(r"listening on (\S+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"enos-sim did not start: {line!r} {''.join(self.stderr)}")
        self.addr: str = m.group(1)
        self.port = int(self.addr.rsplit(":", 1)[1])
        if not self._control_seen.wait(10):
            self.stop()
            raise RuntimeError("enos-sim did not print its control address: " + "".join(self.stderr))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        try:
            for line in self.proc.stderr:
                self.stderr.append(line)
                m = re.search(r"control channel on (\S+)", line)
                if m:
                    self.control = m.group(1)
                    self._control_seen.set()
        except ValueError:  # stderr closed under us (only if the join in stop() timed out)
            pass

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)  # it ends at EOF of stderr; closing under it would race
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                if f:
                    f.close()
            except Exception:
                pass

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _control(self, req: Dict[str, Any]) -> Dict[str, Any]:
        assert self.control
        host, port = self.control.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(json.dumps(req).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        resp: Dict[str, Any] = json.loads(buf)
        if not resp.get("ok"):
            raise RuntimeError(f"enos-sim control: {resp}")
        return resp

    def command(self, payload: bytes, topic: Optional[str] = None, pk: str = PK, dk: str = DK) -> None:
        req: Dict[str, Any] = {"op": "command", "productKey": pk, "deviceKey": dk,
                               "payload": base64.b64encode(payload).decode()}
        if topic:
            req["topic"] = topic
        self._control(req)

    def stats(self) -> Dict[str, Any]:
        st: Dict[str, Any] = self._control({"op": "stats"})["stats"]
        return st

    def records(self) -> List[Dict[str, Any]]:
        out = []
        try:
            with open(self.log) as f:
                for line in f:
                    if line.strip():
                        r = json.loads(line)
                        r["data"] = base64.b64decode(r["payload"] or "")
                        out.append(r)
        except FileNotFoundError:
            pass
        return out


class SimTestCase(unittest.TestCase):
    """A test case with one enos-sim per test (arguments in ``sim_args``)."""

    sim_args: List[str] = []

    def setUp(self) -> None:
        self.sim = Sim(*self.sim_args)
        self.addCleanup(self.sim.cleanup)

    def client(self, **kw: Any) -> libenos.Client:
        args: Dict[str, Any] = dict(server=self.sim.addr, product_key=PK, device_key=DK, device_secret=SECRET,
                                    ack_timeout=0.2, max_retransmit=2)
        args.update(kw)
        c = libenos.Client(**args)
        self.addCleanup(c._close_quietly)
        return c
