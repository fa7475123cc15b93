"""The cloud-compatible API server, started with `scribbleseg serve` and called over HTTP.

The servers run weights-free (SCRIBBLESEG_MODELS points at an empty folder) so each call is quick;
the engine itself is real.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlencode, urlsplit

import numpy as np
import pytest
import requests
import urllib3
from PIL import Image

from scribbleseg import signing
from scribbleseg.bench.load import synthetic_case
from scribbleseg.output import png_bytes
from scribbleseg.protocol import ACTION, API_VERSION
from scribbleseg_editor import host
from scribbleseg_editor.options import SegmentOptions

KEY_ID, SECRET = "test-key", "test-secret"
CASE = synthetic_case(5, height=240, width=320)
GOOD_FILES = {"ImageUrl": png_bytes(CASE.image),
              "PosScribbleImageUrl": png_bytes(CASE.positive),
              "NegScribbleImageUrl": png_bytes(CASE.negative)}


def multipart_body(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    """(body, Content-Type) of a multipart/form-data form with text fields and file parts."""
    return urllib3.encode_multipart_formdata(
        [*fields.items(), *((name, (f"{name}.png", data, "image/png"))
                            for name, data in files.items())])


def v3_headers(body: bytes, content_type: str, host: str, key_id: str, secret: str, *,
               date: datetime | None = None, nonce: str | None = None,
               action: str = ACTION) -> dict[str, str]:
    """Headers of a V3-signed POST / calling `action` (fresh date and nonce unless given)."""
    headers = {
        "host": host,
        "content-type": content_type,
        "x-acs-action": action,
        "x-acs-version": API_VERSION,
        "x-acs-date": (date or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": signing.sha256_hex(body),
    }
    signature, names = signing.sign_v3("POST", "/", {}, headers.items(),
                                       headers["x-acs-content-sha256"], secret)
    return dict(headers, Authorization=signing.v3_authorization(key_id, names, signature))


@contextmanager
def api_server(folder, *options: str, port: str = "0"):
    """`scribbleseg serve` on loopback (a free port unless given); yields its base URL."""
    models = folder / "no-models"
    models.mkdir(exist_ok=True)
    log = folder / "server.log"  # a file, not a pipe: a full pipe would stall the server
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "scribbleseg", "serve", "--host", "127.0.0.1", "--port", port,
             *options],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
            env=dict(os.environ, SCRIBBLESEG_MODELS=str(models)),
        )
    try:
        line = process.stdout.readline()
        assert "listening on" in line, log.read_text()
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signed")
    keys = folder / "keys.json"
    keys.write_text(json.dumps({KEY_ID: SECRET}))
    with api_server(folder, "--keys", str(keys), "--fetch-timeout", "2") as url:
        yield url


@pytest.fixture(scope="module")
def file_host():
    """A loopback web server holding input files: good, slow, missing, redirecting away."""
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/slow.png":
                arrived.set()
                time.sleep(3)
            if self.path == "/redirect.png":
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{port}/image.png")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path in ("/image.png", "/slow.png"):
                body = GOOD_FILES["ImageUrl"]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.base, server.slow_request_arrived = f"http://127.0.0.1:{port}", arrived
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def fetching_server(tmp_path_factory):
    """Unsigned (loopback), allowed to fetch from loopback, with a short download time limit."""
    folder = tmp_path_factory.mktemp("fetching")
    with api_server(folder, "--unsigned", "--allow-fetch", "127.0.0.0/8",
                    "--fetch-timeout", "0.5") as url:
        yield url


def call(server: str, fields: dict[str, str], files: dict[str, bytes] | None = None, *,
         signed: bool = True, secret: str = SECRET, key_id: str = KEY_ID,
         **signature_options) -> requests.Response:
    """POST / with the fields (and files as multipart parts), V3-signed unless signed=False."""
    if not signed:  # V3 names the action in a header; unsigned calls name it as a parameter
        fields = {"Action": ACTION, **fields}
    if files:
        body, content_type = multipart_body(fields, files)
    else:
        body = urlencode(fields, quote_via=quote).encode()
        content_type = "application/x-www-form-urlencoded"
    headers = {"content-type": content_type}
    if signed:
        headers = v3_headers(body, content_type, urlsplit(server).netloc, key_id, secret,
                             **signature_options)
    return requests.post(server + "/", data=body, headers=headers, timeout=60)


def call_v1(server: str, fields: dict[str, str], files: dict[str, bytes]) -> requests.Response:
    params = {"Action": ACTION, "Version": API_VERSION,
              "AccessKeyId": KEY_ID, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
              "SignatureNonce": os.urandom(8).hex(),
              "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **fields}
    params["Signature"] = signing.sign_v1("POST", params, SECRET)
    body, content_type = multipart_body(params, files)
    return requests.post(server + "/", data=body, headers={"Content-Type": content_type},
                         timeout=60)


def fetch_result(response: requests.Response) -> Image.Image:
    assert response.status_code == 200, response.text
    result = requests.get(response.json()["Data"]["ResultUrl"], timeout=10)
    assert result.status_code == 200
    return Image.open(io.BytesIO(result.content))


def selects_the_object(alpha: np.ndarray) -> bool:
    mask = alpha >= 128
    return (mask & CASE.truth).sum() / (mask | CASE.truth).sum() >= 0.8


def assert_error(response: requests.Response, code: str, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["Code"] == code, body
    assert body["RequestId"] and body["Message"] and body["Recommend"]
    assert "HostId" in body
    return body


def test_v3_signed_call_gives_a_cut_out_at_result_url(signed_server):
    response = call(signed_server, {}, GOOD_FILES)
    assert response.json()["RequestId"]
    picture = fetch_result(response)
    assert picture.mode == "RGBA" and picture.size == (320, 240)
    assert selects_the_object(np.asarray(picture)[:, :, 3])


def test_v1_signed_call_with_files_as_parts(signed_server):
    picture = fetch_result(call_v1(signed_server, {"ReturnForm": "only_alpha"}, GOOD_FILES))
    assert picture.mode == "L"
    assert selects_the_object(np.asarray(picture))


def test_xml_answers_when_asked(signed_server):
    answer = call_v1(signed_server, {"Format": "XML", "ReturnFormat": "JPG"}, GOOD_FILES)
    assert answer.status_code == 200
    root = ElementTree.fromstring(answer.content)
    assert root.tag == "InteractiveScribbleSegmentationResponse"
    result_url = root.find("Data/ResultUrl").text
    assert requests.get(result_url, timeout=10).headers["Content-Type"] == "image/jpeg"

    error = call_v1(signed_server, {"Format": "XML", "ReturnForm": "rainbow"}, GOOD_FILES)
    assert error.status_code == 400
    assert ElementTree.fromstring(error.content).find("Code").text == "InvalidParameter"


def test_unknown_access_key_id(signed_server):
    assert_error(call(signed_server, {}, GOOD_FILES, key_id="nobody"),
                 "InvalidAccessKeyId.NotFound", 404)


def test_wrong_secret(signed_server):
    body = assert_error(call(signed_server, {}, GOOD_FILES, secret="guess"), "AuthFailed", 403)
    assert "signature" in body["Message"]


def test_body_changed_after_signing(signed_server):
    body, content_type = multipart_body({}, GOOD_FILES)
    headers = v3_headers(body, content_type, urlsplit(signed_server).netloc, KEY_ID, SECRET)
    tampered = body.replace(b"ImageUrl.png", b"ImageUrX.png")
    response = requests.post(signed_server + "/", data=tampered, headers=headers, timeout=60)
    assert_error(response, "AuthFailed", 403)


def test_unsigned_call_to_a_signed_server(signed_server):
    assert_error(call(signed_server, {}, GOOD_FILES, signed=False), "AuthFailed", 403)


def test_stale_timestamp(signed_server):
    stale = datetime.now(UTC) - timedelta(minutes=16)
    body = assert_error(call(signed_server, {}, GOOD_FILES, date=stale), "AuthFailed", 403)
    assert "15 minutes" in body["Message"]


def test_replayed_nonce(signed_server):
    # The first call passes authentication (and then lacks its image); the replay must not.
    first = call(signed_server, {}, nonce="once-only")
    assert_error(first, "InvalidParameter", 400)
    body = assert_error(call(signed_server, {}, nonce="once-only"), "AuthFailed", 403)
    assert "already used" in body["Message"]


SIGNED_BAD_INPUTS = {
    "missing ImageUrl": ({}, {}, "InvalidParameter", 400),
    "bad ReturnForm": ({"ReturnForm": "rainbow"}, GOOD_FILES, "InvalidParameter", 400),
    "bad ReturnFormat": ({"ReturnFormat": "TIFF"}, GOOD_FILES, "InvalidParameter", 400),
    "bad EdgeFeathering": ({"EdgeFeathering": "yes"}, GOOD_FILES, "InvalidParameter", 400),
    "bad PostprocessOption": ({"PostprocessOption": "sharp"}, GOOD_FILES,
                              "InvalidParameter", 400),
    "bad Format": ({"Format": "YAML"}, GOOD_FILES, "InvalidParameter", 400),
    "file over 10 MB": ({}, {"ImageUrl": os.urandom(10 * 1024 * 1024 + 1)},
                        "InvalidFile.Size", 400),
    "image too small": ({}, {"ImageUrl": png_bytes(np.zeros((16, 16, 3), np.uint8))},
                        "InvalidImage.Resolution", 400),
    "image too large": ({}, {"ImageUrl": png_bytes(np.zeros((40, 4100, 3), np.uint8))},
                        "InvalidImage.Resolution", 400),
    "mask of another size": ({}, {**GOOD_FILES, "MaskImageUrl": png_bytes(
        np.zeros((100, 100), np.uint8))}, "InvalidParameter", 400),
    "not an image": ({}, {"ImageUrl": b"these are not pixels"}, "InvalidImage.Format", 400),
    "GIF image": ({}, {"ImageUrl": b"GIF89a" + bytes(40)}, "InvalidImage.Format", 400),
    "truncated PNG": ({}, {"ImageUrl": GOOD_FILES["ImageUrl"][:2000]},
                      "InvalidFile.Content", 400),
    "file URL": ({"ImageUrl": "file:///etc/passwd"}, {}, "IllegalUrlParameter", 400),
    "URL to loopback": ({"ImageUrl": "http://127.0.0.1:9/a.png"}, {},
                        "IllegalUrlParameter", 400),
    "URL to a private network": ({"ImageUrl": "http://10.0.0.1/a.png"}, {},
                                 "IllegalUrlParameter", 400),
    "URL to link-local metadata": ({"ImageUrl": "http://169.254.169.254/latest"}, {},
                                   "IllegalUrlParameter", 400),
}


@pytest.mark.parametrize("case", SIGNED_BAD_INPUTS)
def test_bad_input_is_refused_and_the_server_stays_healthy(signed_server, case):
    fields, files, code, status = SIGNED_BAD_INPUTS[case]
    assert_error(call(signed_server, fields, files), code, status)
    assert requests.get(signed_server + "/health", timeout=10).json() == {"status": "ok"}
    assert selects_the_object(np.asarray(fetch_result(call(signed_server, {}, GOOD_FILES)))[..., 3])


def test_server_advertises_direct_file_upload(signed_server):
    answer = requests.get(signed_server + "/", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["X-ScribbleSeg-Upload"] == "direct"


def test_unknown_action(signed_server):
    response = call(signed_server, {}, GOOD_FILES, action="DescribeRegions")
    assert_error(response, "InvalidAction.NotFound", 400)


def test_oversized_body_is_refused_before_it_is_sent(signed_server):
    address = urlsplit(signed_server)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.putrequest("POST", "/")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(200 * 1024 * 1024))
    connection.endheaders()  # and no body: the answer must come without it
    response = connection.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["Code"] == "InvalidFile.Size"
    connection.close()


def test_input_by_url(fetching_server, file_host):
    response = call(fetching_server, {"ImageUrl": file_host.base + "/image.png"},
                    {"PosScribbleImageUrl": GOOD_FILES["PosScribbleImageUrl"]}, signed=False)
    assert selects_the_object(np.asarray(fetch_result(response))[..., 3])


@pytest.mark.parametrize("path, code", [
    ("/slow.png", "InvalidFile.Download"),  # answers after 3 s; the limit is 0.5 s
    ("/redirect.png", "IllegalUrlParameter"),  # to localhost: another host name
    ("/missing.png", "InvalidFile.Download"),
])
def test_url_that_cannot_be_fetched(fetching_server, file_host, path, code):
    response = call(fetching_server, {"ImageUrl": file_host.base + path}, signed=False)
    assert_error(response, code, 400)
    assert requests.get(fetching_server + "/health", timeout=10).status_code == 200


def test_result_url_expires(tmp_path):
    with api_server(tmp_path, "--unsigned", "--result-minutes", "0.02") as server:
        result_url = call(server, {}, GOOD_FILES, signed=False).json()["Data"]["ResultUrl"]
        assert requests.get(result_url, timeout=10).status_code == 200
        time.sleep(1.5)
        gone = requests.get(result_url, timeout=10)
        assert gone.status_code == 404 and "expired" in gone.json()["Message"]
        assert requests.get(server + "/results/guessed.png", timeout=10).status_code == 404


def scan_bomb(scans: int = 3000, side: int = 2048) -> bytes:
    """A progressive JPEG whose last scan (16 bytes) is repeated: small, and seconds to decode."""
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (120, 130, 140)).save(buffer, "JPEG", progressive=True)
    data = buffer.getvalue()
    last_scan = data.rindex(b"\xff\xda")
    return data[:-2] + data[last_scan:-2] * scans + data[-2:]


def test_throttling_beyond_the_queue(tmp_path):
    # The only worker decodes a slow file (cut off at the job limit); meanwhile there is no room.
    with api_server(tmp_path, "--unsigned", "--workers", "1", "--queue", "0",
                    "--job-seconds", "3") as server:
        first: list[requests.Response] = []
        busy = threading.Thread(target=lambda: first.append(call(
            server, {}, {**GOOD_FILES, "ImageUrl": scan_bomb()}, signed=False)))
        busy.start()
        time.sleep(1.0)
        throttled = call(server, {}, GOOD_FILES, signed=False)
        refused_next = call(server, {}, GOOD_FILES, signed=False)
        busy.join()
    assert_error(throttled, "Throttling", 429)
    assert int(throttled.headers["x-acs-retry-after"]) >= 1000  # milliseconds
    assert int(throttled.headers["Retry-After"]) >= 1  # seconds
    # Refused clients are told to come back one after another, not all at once.
    assert_error(refused_next, "Throttling", 429)
    assert int(refused_next.headers["x-acs-retry-after"]) > int(
        throttled.headers["x-acs-retry-after"])
    assert_error(first[0], "InvalidFile.Content", 400)


def test_unsigned_mode_is_refused_on_a_public_bind():
    finished = subprocess.run(
        [sys.executable, "-m", "scribbleseg", "serve", "--host", "0.0.0.0", "--port", "0",
         "--unsigned"], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert "loopback" in finished.stderr


def test_desktop_host_relays_cloud_strokes_to_an_api_server(signed_server, tmp_path,
                                                           monkeypatch):
    """Editor -> desktop host (engine "cloud") -> this API server, signed with the user's key."""
    for name, value in {"SCRIBBLESEG_RUNTIME_DIR": str(tmp_path / "run"),
                        "SCRIBBLESEG_CONFIG_DIR": str(tmp_path / "config"),
                        "SCRIBBLESEG_PYTHON": sys.executable,
                        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
                        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET}.items():
        monkeypatch.setenv(name, value)
    connection = host.ensure_host()
    try:
        height, width = CASE.truth.shape
        planes = {"positive": CASE.positive.astype(np.uint8).tobytes(),
                  "negative": CASE.negative.astype(np.uint8).tobytes()}
        alpha = connection.segment(width, height, CASE.image.tobytes(), planes,
                                   SegmentOptions(), engine="cloud", endpoint=signed_server)
        assert selects_the_object(np.frombuffer(alpha, np.uint8).reshape(height, width))
    finally:
        pid = connection.health()["pid"]
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)  # ensure_host started it as this process's child
