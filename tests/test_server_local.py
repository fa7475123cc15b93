"""The desktop engine host (`scribbleseg serve --local`), called with the editors' own client.

Each host runs in its own process with its own runtime folder, weights-free (an empty
SCRIBBLESEG_MODELS) so that strokes are quick; the engine itself is real.
"""

from __future__ import annotations

import http.client
import json
import os
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from scribbleseg.bench.load import synthetic_case
from scribbleseg_editor import host, hostfile, wire
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.options import SegmentOptions

CASE = synthetic_case(5, height=240, width=320)
OPTIONS = SegmentOptions()


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """A private runtime folder for the host and for this test's client."""
    monkeypatch.setenv("SCRIBBLESEG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "no-models").mkdir()
    monkeypatch.setenv("SCRIBBLESEG_MODELS", str(tmp_path / "no-models"))
    return tmp_path


def start(*options: str) -> tuple[subprocess.Popen, host.HostConnection]:
    log = hostfile.runtime_dir().parent / "host.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "scribbleseg", "serve", "--local", *options],
            stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        connection = host.find_host()
        if connection is not None:
            return process, connection
        assert process.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError("the host did not start")


@pytest.fixture
def running(runtime):
    process, connection = start()
    yield connection
    process.terminate()
    process.wait(timeout=30)


def stroke(connection: host.HostConnection, positive=CASE.positive, **planes) -> np.ndarray:
    height, width = CASE.truth.shape
    planes = {"positive": positive, "negative": CASE.negative, **planes}
    alpha = connection.segment(width, height, CASE.image.tobytes(),
                               {name: plane.astype(np.uint8).tobytes()
                                for name, plane in planes.items()}, OPTIONS)
    return np.frombuffer(alpha, np.uint8).reshape(height, width)


def raw_request(connection: host.HostConnection, headers: dict[str, str]) -> tuple[int, dict]:
    client = http.client.HTTPConnection("127.0.0.1", connection.port, timeout=10)
    client.request("GET", "/local/v1/health", headers=headers)
    response = client.getresponse()
    answer = response.status, json.loads(response.read())
    client.close()
    return answer


def test_runtime_file_is_private_to_the_user(running):
    path = hostfile.runtime_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["port"] == running.port


def test_a_stroke_selects_the_object(running):
    mask = stroke(running) >= 128
    assert (mask & CASE.truth).sum() / (mask | CASE.truth).sum() >= 0.8


def test_second_stroke_on_the_same_image_reuses_the_prepared_image(running):
    stroke(running)
    shorter = CASE.positive & (np.arange(CASE.positive.shape[1]) < 160)
    stroke(running, positive=shorter, mask=CASE.truth)
    assert running.health()["cache"] | {"bytes": 0} == {"hits": 1, "misses": 1, "items": 1,
                                                        "bytes": 0}


def test_requests_without_the_token_are_refused(running):
    status, body = raw_request(running, {"Authorization": "Bearer wrong"})
    assert (status, body["Code"]) == (403, "AuthFailed")
    status, body = raw_request(running, {})
    assert (status, body["Code"]) == (403, "AuthFailed")


def test_requests_naming_another_host_are_refused(running):
    # What a web page reaching the port through DNS rebinding would send: the right port, the
    # attacker's name in Host. Even with the token it must fail.
    status, body = raw_request(running, {"Authorization": f"Bearer {running.token}",
                                         "Host": f"attacker.example:{running.port}"})
    assert (status, body["Code"]) == (403, "AuthFailed")
    assert "Host" in body["Message"]


def test_bad_options_come_back_with_their_code(running):
    header = json.dumps({"width": 320, "height": 240, "planes": [], "postprocess": "blur"})
    with pytest.raises(ScribbleSegError) as refused:
        running._request("POST", wire.SEGMENT_PATH, header.encode() + b"\n"
                         + CASE.image.tobytes())
    assert refused.value.code == "InvalidParameter"
    assert "postprocess" in refused.value.message
    assert running.health()["status"] == "ok"


def test_second_start_finds_the_running_host(running):
    before = hostfile.read_runtime()
    second = subprocess.run([sys.executable, "-m", "scribbleseg", "serve", "--local"],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0
    assert f"already running on 127.0.0.1:{running.port}" in second.stdout
    assert hostfile.read_runtime() == before


def test_exits_when_idle_and_removes_its_runtime_file(runtime):
    process, connection = start("--idle-minutes", "0.02")
    assert connection.health()["status"] == "ok"
    assert process.wait(timeout=30) == 0
    assert not hostfile.runtime_file().exists()


def test_exits_when_its_runtime_file_is_removed(runtime):
    process, _ = start()
    hostfile.runtime_file().unlink()
    assert process.wait(timeout=30) == 0


def test_the_editor_client_starts_a_host_on_demand(runtime, monkeypatch):
    monkeypatch.setenv("SCRIBBLESEG_PYTHON", sys.executable)
    connection = host.ensure_host()
    try:
        assert host.ensure_host().port == connection.port  # found, not started again
        mask = stroke(connection) >= 128
        assert (mask & CASE.truth).sum() / (mask | CASE.truth).sum() >= 0.8
    finally:
        pid = connection.health()["pid"]
        hostfile.runtime_file().unlink()  # the host notices and exits
    assert _exit_status(pid, timeout=30) == 0


def _exit_status(child_pid: int, timeout: float) -> int | None:
    """Reap a child this process started (ensure_host starts the host as our child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status = os.waitpid(child_pid, os.WNOHANG)
        if pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.2)
    return None


def post_raw(connection: host.HostConnection, path: str, body: bytes,
             method: str = "POST") -> tuple[int, dict]:
    client = http.client.HTTPConnection("127.0.0.1", connection.port, timeout=30)
    client.request(method, path, body=body, headers={
        "Authorization": f"Bearer {connection.token}", "Content-Type": wire.CONTENT_TYPE})
    response = client.getresponse()
    answer = response.status, json.loads(response.read())
    client.close()
    return answer


@pytest.mark.parametrize("header", [
    {"width": 320, "height": 240, "planes": [["positive"]]},
    {"width": 320, "height": 240, "planes": ["positive", "positive"]},
    {"width": "320", "height": 240, "planes": []},
    {"width": 99999, "height": 240, "planes": []},
])
def test_malformed_headers_are_refused_with_a_code(running, header):
    status, body = post_raw(running, wire.SEGMENT_PATH, json.dumps(header).encode() + b"\n")
    assert status == 400 and body["Code"] in ("InvalidParameter", "InvalidImage.Resolution")
    assert running.health()["status"] == "ok"


def test_wrong_paths_and_methods_get_the_error_body(running):
    assert post_raw(running, "/local/v1/nowhere", b"")[0] == 404
    status, body = post_raw(running, wire.HEALTH_PATH, b"", method="PUT")
    assert (status, body["Code"]) == (405, "InvalidParameter")


def test_sigterm_ends_the_host_and_removes_its_runtime_file(runtime):
    process, connection = start()
    assert connection.health()["status"] == "ok"
    process.terminate()
    assert process.wait(timeout=30) == 0
    assert not hostfile.runtime_file().exists()


def test_a_cloud_relay_that_fails_says_why_with_a_code_the_editor_knows(running):
    with pytest.raises(ScribbleSegError) as refused:
        running.segment(320, 240, CASE.image.tobytes(),
                        {"positive": CASE.positive.astype(np.uint8).tobytes()}, OPTIONS,
                        engine="cloud", endpoint="http://127.0.0.1:9/")
    assert refused.value.code == "HostFailed"
    assert "127.0.0.1:9" in refused.value.message
