"""The Tiled server dies mid-run and comes back: the run completes, nothing is lost, and the
writer warns within a step of the outage.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from autoscope import plans, trace
from autoscope.devices.sim import SimMicroscope
from autoscope.storage import (
    TiledOutageWarning,
    close_catalog,
    make_writer,
    open_catalog,
    server_config,
)
from autoscope.testing import TinySample

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
KEY = "outagetestkey0123456789"
FAST = {"name": "dkl", "params": {"n_iter": 10, "warm_iter": 3}}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(config: Path, uri: str, log: Path) -> subprocess.Popen:
    tiled = Path(sys.executable).with_name("tiled")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILED_")}
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(tiled), "serve", "config", str(config)], stdout=out,
                                stderr=subprocess.STDOUT, env=env)  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with httpx.Client(trust_env=False, timeout=2.0) as http:
                if http.get(f"{uri}/api/v1/").status_code == 200:
                    return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"tiled did not start:\n{log.read_text()}")


@pytest.mark.server
@pytest.mark.slow
def test_tiled_dies_mid_run_and_comes_back(RE, tmp_path, _journal_dir):
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    config = server_config(tmp_path / "server", KEY, port=port)
    log = tmp_path / "server.log"
    servers = [start_server(config, uri, log)]
    client = open_catalog(uri, api_key=KEY)
    outage = {"down": 20.0}  # seconds the server stays dead (the run goes on meanwhile)
    steps: list[tuple[int, float, bool]] = []  # (primary events so far, time, writer warned)

    def kill_and_restart():
        outage["kill_sent"] = time.monotonic()
        servers[0].send_signal(signal.SIGKILL)
        servers[0].wait(10)
        outage["killed_at"] = time.monotonic()
        time.sleep(outage["down"])
        servers.append(start_server(config, uri, log))
        outage["back_at"] = time.monotonic()

    writer = make_writer(client, flush_interval=0.1)
    n = {"primary": 0}
    streams: dict[str, str] = {}
    emitted: list[np.ndarray] = []
    ids: list[int] = []
    docs: list[tuple[str, dict]] = []

    def watch(name, doc):
        docs.append((name, doc))
        if name == "descriptor":
            streams[doc["uid"]] = doc["name"]
        if name == "event" and streams[doc["descriptor"]] == "primary":
            emitted.append(np.array(doc["data"]["microscope_spectrometer_spectrum"]))
            ids.append(int(doc["data"]["point_candidate_id"]))
            n["primary"] += 1
            if n["primary"] == 10:
                outage["thread"] = threading.Thread(target=kill_and_restart)
                outage["thread"].start()
                outage["kill_step"] = 10
            steps.append((n["primary"], time.monotonic(), writer.warned is not None))

    RE.subscribe(writer)
    RE.subscribe(watch)
    mic = SimMicroscope(TinySample(seed=0), seed=1, dwell=0.2)
    try:
        with pytest.warns(TiledOutageWarning, match="kept in the journal"):
            (uid,) = RE(plans.dkl_explore(mic, CENTROID, budget=70, n_seed=4, patch_size=8,
                                          seed=2, model=FAST, map_every=0))  # fmt: skip
        outage["thread"].join(120)
        assert outage["back_at"] - outage["killed_at"] >= outage["down"]
        # the heartbeat asks every 0.1 s: the first step after that warns (slack for 2 busy cores)
        k, t_warned, _ = min((s for s in steps if s[2]), key=lambda s: s[0])
        lag = t_warned - outage["kill_sent"]
        assert k >= 10 and 0 <= lag <= 1.5, (lag, steps[8:20])
        step_s = float(np.median(np.diff([t for _, t, _ in steps])))
        print(
            f"\noutage: killed after spectrum 10, warned at spectrum {k}, {lag:.2f} s after "
            f"the kill (a step takes {step_s:.2f} s), server down "
            f"{outage['back_at'] - outage['killed_at']:.1f} s, {n['primary']} spectra"
        )
        assert docs[-1][0] == "stop" and docs[-1][1]["exit_status"] == "success"
        assert (_journal_dir / "delivered" / f"{uid}.msgpack").is_file()
        reader = open_catalog(uri, api_key=KEY)  # a fresh client, as an analyst would
        try:
            tr = trace.load(uid, catalog=reader)
            assert list(reader) == [uid]
        finally:
            close_catalog(reader)
    finally:
        close_catalog(client)
        if "thread" in outage:
            outage["thread"].join(120)
        for proc in servers:
            proc.terminate()
            proc.wait(15)
    assert tr.complete and tr.n_measured == 70 == len(emitted)
    np.testing.assert_array_equal(tr.spectra, np.asarray(emitted))
    assert tr.measured_ids == ids and len(set(ids)) == 70
    decisions = [d for k, d in docs if k == "event" and streams[d["descriptor"]] == "decisions"]
    assert len(tr.decisions) == len(decisions) == 67
