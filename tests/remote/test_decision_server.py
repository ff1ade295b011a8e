"""The decision server and its client over a real ZeroMQ socket (``autoscope decide-server``).

Every server is a subprocess on a free loopback port (``decide_server`` fixture, stopped in
teardown); the client is :class:`autoscope.remote.RemoteRecommender` in this process.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zmq

from autoscope.errors import DecisionServerError, InputDataError, NoRecommendation
from autoscope.recommender import DKLRecommender
from autoscope.remote import PROTOCOL, RemoteRecommender, is_loopback
from autoscope.remote import channel as channel_module
from autoscope.remote.wire import decode, encode, error_from_reply

pytestmark = pytest.mark.server

IMAGE = np.random.default_rng(0).normal(size=(20, 20))
CONFIG = {
    "patch_size": 8,
    "policy": "ei",
    "seed": 0,
    "model": {"name": "dkl", "params": {"n_iter": 10, "warm_iter": 3, "threads": 1}},
}


def test_remote_recommender_is_the_local_one_call_for_call(shared_decide_server):
    address = shared_decide_server
    with RemoteRecommender(address, IMAGE, timeout=60, **CONFIG) as remote:
        local = DKLRecommender(IMAGE, **CONFIG)
        assert np.array_equal(remote.candidates, local.candidates)
        assert remote.config == local.config
        for _ in range(6):
            (a,), (b,) = remote.suggest(1), local.suggest(1)
            assert a == b and remote.pending == local.pending == [a["_id"]]
            v = float(IMAGE[a["row"], a["col"]])
            remote.ingest([{"_id": a["_id"], "value": v}])
            local.ingest([{"_id": b["_id"], "value": v}])
        assert remote.last_decision["ids"] == local.last_decision["ids"]
        assert remote.last_decision["mean"] == local.last_decision["mean"]  # bit for bit
        for got, want in zip(remote.predict(), local.predict(), strict=True):
            assert got.dtype == want.dtype and np.array_equal(got, want)
        assert np.array_equal(remote.acquisition(), local.acquisition(), equal_nan=True)
        assert remote.measured_ids == local.measured_ids and len(remote.measured_ids) == 6
        remote.policy = "ucb"
        assert remote.policy["name"] == "ucb"
        remote.exclude([0, 1])
        assert remote.config["excluded"] == [0, 1]
        t = remote.last_round_trip
        assert t["op"] == "call" and 0 <= t["server"] <= t["total"]


def test_server_errors_come_back_as_the_same_class(shared_decide_server):
    address = shared_decide_server
    with RemoteRecommender(address, IMAGE, timeout=60, **CONFIG) as remote:
        with pytest.raises(InputDataError, match="unknown candidate id 100000"):
            remote.ingest([{"_id": 100_000, "value": 1.0}])
        remote.exclude(list(range(len(remote.candidates))))
        with pytest.raises(NoRecommendation, match="no candidate left"):
            remote.suggest(1)
        with pytest.raises(ValueError, match="batch_size"):
            remote.suggest(0)
    with pytest.raises(InputDataError, match="unknown model 'nosuch'|nosuch"):
        RemoteRecommender(address, IMAGE, **{**CONFIG, "model": "nosuch"})
    with pytest.raises(InputDataError, match="bad recommender config.*colour"):
        RemoteRecommender(address, IMAGE, colour="red")


def test_sessions_are_separate_and_end_with_the_run(decide_server):
    _, address = decide_server("--max-sessions", "2")
    a = RemoteRecommender(address, IMAGE, **CONFIG)
    b = RemoteRecommender(address, IMAGE, **{**CONFIG, "seed": 1})
    try:
        assert a.session != b.session and a.hello()["sessions"] == 2
        a.ingest([{"_id": 5, "value": 1.0}])
        assert a.measured_ids == [5] and b.measured_ids == []  # b's model never saw it
        with pytest.raises(DecisionServerError, match="holds 2 sessions, its maximum"):
            RemoteRecommender(address, IMAGE, **CONFIG)
        sid = a.session
        a.close()
        assert b.hello()["sessions"] == 1
        a.session = sid  # a client that kept a closed session's id gets a clear refusal
        with pytest.raises(DecisionServerError, match=f"no session {sid}"):
            _ = a.measured_ids
    finally:
        a.session = None
        a.close()
        b.close()


def test_protocol_mismatch_is_refused(shared_decide_server, monkeypatch):
    address = shared_decide_server
    monkeypatch.setattr(channel_module, "PROTOCOL", PROTOCOL + 1)
    with pytest.raises(DecisionServerError, match="protocol mismatch.*same autoscope version"):
        RemoteRecommender(address).hello()
    ctx = zmq.Context.instance()  # a foreign client sending garbage gets an answer, not a crash
    sock = ctx.socket(zmq.DEALER)
    try:
        sock.connect(address)
        sock.send_multipart([b"", b"\xc1 not msgpack"])
        assert sock.poll(5000)
        reply = decode(sock.recv_multipart()[-1])
        assert reply["ok"] is False and "not an autoscope decision message" in reply["message"]
    finally:
        sock.close(linger=0)


def test_a_decision_that_times_out_is_withdrawn_when_the_server_answers_again(shared_decide_server):
    address = shared_decide_server
    slow = {**CONFIG, "model": {"name": "dkl", "params": {"n_iter": 400, "threads": 1}}}
    with RemoteRecommender(address, IMAGE, timeout=30, retry_interval=0.01, **slow) as remote:
        remote.ingest([{"_id": i, "value": float(i % 7)} for i in range(0, 160, 16)])
        remote.timeout = 0.05  # the first fit takes far longer
        with pytest.raises(DecisionServerError, match=r"no answer .* within 0.05 s \(suggest\)"):
            remote.suggest(1)
        remote.timeout = 60
        time.sleep(0.05)
        remote.ingest([{"_id": 3, "value": 0.5}])  # sent after the withdrawal, in order
        assert remote.pending == []  # the late suggestion reached the server, then was undone
        assert remote.measured_ids[-1] == 3


def test_calls_made_while_the_server_was_down_reach_it_in_order(shared_decide_server):
    with RemoteRecommender(shared_decide_server, IMAGE, retry_interval=60, **CONFIG) as remote:
        remote._channel.down_at = time.monotonic()  # as after a timeout: no request for 60 s
        remote.ingest([{"_id": 7, "value": 1.0}])
        remote.exclude([8])
        with pytest.raises(DecisionServerError, match="stopped answering"):
            remote.suggest(1)
        remote.ingest([{"_id": 9, "value": 2.0}])
        remote.retry_interval = 0.01
        time.sleep(0.02)
        assert remote.measured_ids == [7, 9]  # probed, found, sent what it missed, in order
        assert remote.config["excluded"] == [8] and remote._channel.down_at is None


def test_unreachable_server_fails_fast_and_mutations_wait_for_it():
    remote = RemoteRecommender("tcp://127.0.0.1:9", connect_timeout=0.2, retry_interval=60)
    with pytest.raises(DecisionServerError, match="no answer from the decision server"):
        remote.hello()
    remote.session = "gone"  # as if the server died mid-run
    t0 = time.perf_counter()
    with pytest.raises(DecisionServerError, match="stopped answering"):
        remote.suggest(1)
    remote.ingest([{"_id": 1, "value": 1.0}])  # kept for when it answers again
    remote.clear_pending()
    assert time.perf_counter() - t0 < 0.1
    assert [m for m, _ in remote._owed] == ["ingest", "clear_pending"]
    remote.session = None
    remote.close()


def test_wire_keeps_arrays_bit_for_bit_and_maps_errors():
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    got = decode(encode({"a": x, "b": np.float64(0.1), "c": [1, None]}))
    assert got["a"].dtype == np.float32 and np.array_equal(got["a"], x)
    assert got["b"] == np.float64(0.1) and got["c"] == [1, None]
    assert isinstance(error_from_reply({"error": "InputDataError", "message": "m"}), InputDataError)
    assert type(error_from_reply({"error": "KeyError", "message": "k"})) is KeyError
    other = error_from_reply({"error": "CudaOutOfMemory", "message": "oom"})
    assert isinstance(other, DecisionServerError) and "CudaOutOfMemory: oom" in str(other)
    with pytest.raises(DecisionServerError, match="not an autoscope decision message"):
        decode(encode([1, 2]))  # type: ignore[arg-type]
    # nothing from a peer is ever unpickled: object arrays are refused both ways
    with pytest.raises(TypeError, match="dtype object"):
        encode({"x": np.array([object()])})
    forged = {"__ndarray__": "|O", "shape": [1], "data": pickle.dumps(print)}
    with pytest.raises(DecisionServerError, match="refused dtype object"):
        decode(msgpack.packb({"x": forged}, use_bin_type=True))
    as_msgpack_numpy = {b"nd": True, b"kind": b"O", b"type": "|O", b"shape": [1],
                        b"data": pickle.dumps(print)}  # fmt: skip
    got = decode(msgpack.packb({"x": as_msgpack_numpy}, use_bin_type=True))
    assert got["x"][b"data"] == pickle.dumps(print)  # left as bytes, not loaded


def test_bad_client_arguments_are_refused_before_any_request():
    with pytest.raises(InputDataError, match="ZeroMQ endpoint"):
        RemoteRecommender("gpu-host:5555")
    with pytest.raises(InputDataError, match="timeout must be a number of seconds"):
        RemoteRecommender("tcp://h:1", timeout=0)
    with pytest.raises(InputDataError, match="client_key needs server_key"):
        RemoteRecommender("tcp://h:1", client_key="x.key_secret")
    assert is_loopback("tcp://127.0.0.1:5") and is_loopback("tcp://localhost:5")
    assert not is_loopback("tcp://0.0.0.0:5") and not is_loopback("tcp://gpu-host:5")


@pytest.mark.slow  # two servers and two key commands: about 15 s on 2 shared cores
def test_curve_keys_encrypt_and_keep_strangers_out(decide_server, tmp_path):
    exe = str(Path(sys.executable).with_name("autoscope"))
    out = subprocess.run([exe, "decide-server", "--make-keys", str(tmp_path / "keys")],
                         capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    assert "server.key_secret" in out.stdout
    secret = tmp_path / "keys" / "server.key_secret"
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    _, address = decide_server("--secret-key", str(secret))
    with RemoteRecommender(address, IMAGE, server_key=tmp_path / "keys" / "server.key",
                           **CONFIG) as remote:  # fmt: skip
        assert remote.server["encrypted"] is True and len(remote.suggest(2)) == 2
    with pytest.raises(DecisionServerError, match="no answer"):  # no key: no handshake
        RemoteRecommender(address, connect_timeout=0.5).hello()
    # --authorized-keys: only the clients whose public keys are in the folder
    (tmp_path / "clients").mkdir()
    make = [
        exe,
        "decide-server",
        "--make-keys",
        str(tmp_path / "clients"),
        "--key-name",
        "beamline",
    ]
    subprocess.run(make, capture_output=True, timeout=60, check=True)
    known = tmp_path / "clients" / "beamline.key_secret"
    os.rename(known, tmp_path / "keys" / "beamline.key_secret")  # the folder keeps public keys
    _, guarded = decide_server(
        "--secret-key", str(secret), "--authorized-keys", str(tmp_path / "clients")
    )
    server_key = tmp_path / "keys" / "server.key"
    ok = RemoteRecommender(guarded, server_key=server_key,
                           client_key=tmp_path / "keys" / "beamline.key_secret")  # fmt: skip
    assert ok.hello()["encrypted"] is True
    stranger = RemoteRecommender(guarded, server_key=server_key, connect_timeout=0.5)
    with pytest.raises(DecisionServerError, match="no answer"):  # a key pair it does not know
        stranger.hello()


def test_cli_warns_off_loopback_and_refuses_a_bad_bind(tmp_path):
    exe = str(Path(sys.executable).with_name("autoscope"))
    bad = subprocess.run([exe, "decide-server", "--bind", "nonsense"], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 1 and "bind must be an endpoint like tcp://" in bad.stderr
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([exe, "decide-server", "--bind", "tcp://0.0.0.0:0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = proc.stdout.readline()  # printed once it listens; the warning came before
        assert "listening on tcp://0.0.0.0:" in line
        taken = line.split("listening on ")[1].strip()
        again = subprocess.run([exe, "decide-server", "--bind", taken], capture_output=True,
                               text=True, timeout=60)  # fmt: skip
        assert again.returncode == 1 and f"cannot listen on {taken}" in again.stderr
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "unauthenticated and unencrypted" in err and "--secret-key" in err


def test_a_late_call_the_server_refuses_is_dropped_not_retried(shared_decide_server, caplog):
    with RemoteRecommender(shared_decide_server, IMAGE, retry_interval=0.01, **CONFIG) as remote:
        remote._channel.down_at = time.monotonic() - 1.0
        remote._owed.append(("ingest", ([{"_id": 10**6, "value": 1.0}],)))  # refused when sent
        remote.ingest([{"_id": 4, "value": 1.0}])
        assert remote._owed == [] and remote.measured_ids == [4]
    assert "ingest, sent late, was refused: unknown candidate id 1000000" in caplog.text
