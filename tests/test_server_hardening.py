"""Issue 13's findings, each replayed against the real server over loopback.

What a hostile or broken client (or URL server) does, and what every other client must still
notice: a clear code in the API's error body, answers within bounded times, no lost requests.
Servers run weights-free (see test_server_cloud.py's api_server); all traffic is on loopback.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from test_server_cloud import (
    GOOD_FILES,
    KEY_ID,
    SECRET,
    api_server,
    assert_error,
    call,
    fetch_result,
    multipart_body,
    scan_bomb,
    v3_headers,
)


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    path.write_text(json.dumps({KEY_ID: SECRET}))
    return path


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory, keys_file):
    with api_server(tmp_path_factory.mktemp("signed"), "--keys", str(keys_file),
                    "--fetch-timeout", "2") as url:
        yield url


class Listener:
    """A loopback TCP server that counts connections and answers each with `reply(socket)`."""

    def __init__(self, reply) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.reply = reply
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _answer(self, client: socket.socket) -> None:
        with client:
            try:
                client.recv(65536)
                self.reply(client)
            except OSError:
                pass

    def close(self) -> None:
        self.socket.close()


def trickle(client: socket.socket) -> None:
    """A status line and headers one byte every 0.5 s (30 s in all)."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 10\r\n\r\n":
        client.send(bytes([byte]))
        time.sleep(0.5)


def stall(client: socket.socket) -> None:
    time.sleep(8)


def raw(server: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; the status, headers and body of the answer."""
    address = urlsplit(server)
    with socket.create_connection((address.hostname, address.port), timeout=20) as connection:
        connection.sendall(request)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def api_error(status_headers_body, status: int, code: str) -> dict:
    got_status, headers, body = status_headers_body
    assert got_status == status, body[:300]
    assert headers["content-type"].startswith("application/json"), headers
    answer = json.loads(body)
    assert answer["Code"] == code and answer["RequestId"] and answer["Message"], answer
    return answer


# 1. The fetch deadline covers connect, status line, headers and body.
def test_a_trickling_url_server_is_cut_off_at_the_deadline(tmp_path):
    listener = Listener(trickle)
    with api_server(tmp_path, "--unsigned", "--allow-fetch", "127.0.0.0/8",
                    "--fetch-timeout", "2") as server:
        started = time.monotonic()
        response = call(server, {"ImageUrl": f"http://127.0.0.1:{listener.port}/a.png"},
                        signed=False)
        took = time.monotonic() - started
    listener.close()
    assert_error(response, "InvalidFile.Download", 400)
    assert 1.5 < took < 8, took  # the server trickles for 30 s


# 2. Downloads have their own slots: slow URLs never hold the engine's workers.
def test_slow_urls_do_not_delay_a_request_that_brings_its_files(tmp_path):
    listener = Listener(stall)
    with api_server(tmp_path, "--unsigned", "--allow-fetch", "127.0.0.0/8", "--workers", "1",
                    "--queue", "0", "--fetch-timeout", "6") as server:
        slow = [threading.Thread(target=call, args=(server, {
            "ImageUrl": f"http://127.0.0.1:{listener.port}/{index}.png"}), kwargs={
            "signed": False}) for index in range(8)]
        for thread in slow:
            thread.start()
        time.sleep(1.0)
        assert listener.accepted >= 6  # the slow downloads are under way
        started = time.monotonic()
        response = call(server, {}, GOOD_FILES, signed=False)
        took = time.monotonic() - started
        for thread in slow:
            thread.join()
    listener.close()
    assert response.status_code == 200, response.text
    assert took < 5, took  # the stalled downloads last 6 s


# 3. A file that takes long to decode costs one slot for at most the job time limit.
def test_a_scan_bomb_is_refused_within_the_job_limit_while_others_are_served(tmp_path):
    with api_server(tmp_path, "--unsigned", "--workers", "2", "--job-seconds", "3") as server:
        bombs: list[tuple[requests.Response, float]] = []

        def send_bomb() -> None:
            started = time.monotonic()
            answer = call(server, {}, {**GOOD_FILES, "ImageUrl": scan_bomb()}, signed=False)
            bombs.append((answer, time.monotonic() - started))

        bomb = threading.Thread(target=send_bomb)
        bomb.start()
        normal = call(server, {}, GOOD_FILES, signed=False)
        bomb.join()
        after = call(server, {}, GOOD_FILES, signed=False)  # the killed worker was replaced
    assert normal.status_code == 200, normal.text
    answer, took = bombs[0]
    body = assert_error(answer, "InvalidFile.Content", 400)
    assert "decode" in body["Message"]
    assert took < 12, took  # decoding it takes over 10 s on these machines
    assert after.status_code == 200, after.text


# 4. Signature before body: an unsigned or badly signed body is not read, nor parsed at length.
def test_a_bad_v3_signature_is_refused_before_the_body_is_sent(signed_server):
    body = b"x" * 100
    headers = v3_headers(body, "application/x-www-form-urlencoded",
                         urlsplit(signed_server).netloc, KEY_ID, "wrong-secret")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"POST / HTTP/1.1\r\n{head}Content-Length: {30 * 1024 * 1024}\r\n\r\n"
    answer = api_error(raw(signed_server, request.encode()), 403, "AuthFailed")
    assert "signature" in answer["Message"]


def test_many_tiny_parts_are_refused_quickly(signed_server):
    parts = b"".join(b'--b\r\nContent-Disposition: form-data; name="p%d"\r\n\r\nv\r\n' % index
                     for index in range(150_000)) + b"--b--\r\n"
    started = time.monotonic()
    response = requests.post(signed_server + "/", data=parts, timeout=60, headers={
        "Content-Type": "multipart/form-data; boundary=b"})
    assert_error(response, "InvalidParameter", 400)
    assert "parts" in response.json()["Message"]
    assert time.monotonic() - started < 10


def test_unsigned_bodies_are_read_a_few_at_a_time(tmp_path, keys_file):
    """16 clients each announce 30 MB without a signature; the server's memory stays bounded."""
    log = tmp_path / "server.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "scribbleseg", "serve", "--port", "0", "--keys",
             str(keys_file)], stdout=subprocess.PIPE, stderr=stderr, text=True,
            env=dict(os.environ, SCRIBBLESEG_MODELS=str(tmp_path)))
    try:
        server = process.stdout.readline().split()[-1]
        address = urlsplit(server)
        sockets = []
        head = (f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                f"\r\nContent-Length: {30 * 1024 * 1024}\r\n\r\n").encode()
        chunk = b"a=" + b"b" * (1024 * 1024 - 2)
        for _ in range(16):
            connection = socket.create_connection((address.hostname, address.port), timeout=1)
            connection.sendall(head)
            connection.setblocking(False)
            sockets.append(connection)
        sent = [0] * len(sockets)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:  # as fast as the server takes it, 29 MB at most
            for index, connection in enumerate(sockets):
                if sent[index] < 29 * len(chunk):
                    with contextlib.suppress(OSError):  # full: the server is not reading
                        sent[index] += connection.send(chunk)
            time.sleep(0.005)
        resident_kb = int(next(line.split()[1] for line in
                               Path(f"/proc/{process.pid}/status").read_text().splitlines()
                               if line.startswith("VmRSS")))
        for connection in sockets:
            connection.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
    assert resident_kb < 400 * 1024, resident_kb  # 16 x 30 MB would be 480 MB of bodies alone


# 5. A captured request is refused by a restarted server and by a second instance.
def test_a_replayed_request_is_refused_after_a_restart(tmp_path, keys_file):
    body, content_type = multipart_body({}, GOOD_FILES)
    with api_server(tmp_path, "--keys", str(keys_file)) as first:
        headers = v3_headers(body, content_type, urlsplit(first).netloc, KEY_ID, SECRET)
        assert requests.post(first + "/", data=body, headers=headers, timeout=60).ok
    time.sleep(1.1)  # timestamps are whole seconds
    with api_server(tmp_path, "--keys", str(keys_file)) as restarted:
        headers["host"] = urlsplit(restarted).netloc  # the port differs; that header is signed
        replay = requests.post(restarted + "/", data=body, headers=headers, timeout=60)
    answer = assert_error(replay, "AuthFailed", 403)
    assert "signature" in answer["Message"] or "start" in answer["Message"]


def test_a_request_signed_before_the_server_started_is_refused(tmp_path, keys_file):
    body, content_type = multipart_body({}, GOOD_FILES)
    port = socket.create_server(("127.0.0.1", 0))
    address = f"127.0.0.1:{port.getsockname()[1]}"
    port.close()
    headers = v3_headers(body, content_type, address, KEY_ID, SECRET)  # captured in transit
    time.sleep(1.1)
    with api_server(tmp_path, "--keys", str(keys_file), port=address.split(":")[1]) as server:
        replay = requests.post(server + "/", data=body, headers=headers, timeout=60)
        fresh = requests.post(server + "/", data=body, timeout=60, headers=v3_headers(
            body, content_type, address, KEY_ID, SECRET))
    assert "server's start" in assert_error(replay, "AuthFailed", 403)["Message"]
    assert fresh.status_code == 200, fresh.text


# 6. IPv6 forms that carry an IPv4 address, refused before any connect.
SSRF_FORMS = [
    "http://[::ffff:100.100.100.200]/latest/meta-data/",  # Alibaba Cloud metadata, IPv4-mapped
    "http://[::ffff:100.64.0.1]/",
    "http://[64:ff9b::100.100.100.200]/",  # NAT64
    "http://[64:ff9b:1:6464:64:c800::]/",  # local-use NAT64 (RFC 8215)
    "http://[2002:6464:64c8::1]/",  # 6to4
    "http://[::10.0.0.1]/",  # IPv4-compatible
    "http://[::ffff:0:10.0.0.1]/",  # IPv4-translated
]


@pytest.mark.parametrize("url", SSRF_FORMS)
def test_ipv6_translation_forms_are_refused(signed_server, url):
    assert_error(call(signed_server, {"ImageUrl": url}), "IllegalUrlParameter", 400)


@pytest.mark.parametrize("form", ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]",
                                  "[::ffff:0:127.0.0.1]", "localhost", "127.1"])
def test_loopback_in_any_spelling_is_refused_before_any_connect(signed_server, form):
    listener = Listener(stall)
    response = call(signed_server, {"ImageUrl": f"http://{form}:{listener.port}/a.png"})
    listener.close()
    assert_error(response, "IllegalUrlParameter", 400)
    assert listener.accepted == 0


# 7. Malformed input is a 4xx with a code, never InternalError.
@pytest.mark.parametrize("url", ["http://example.com:99999/a.png", "http://example.com:abc/a",
                                 "http://[127.0.0.1]/", "http://[::1/", "http://" + "a" * 64
                                 + ".example/a.png", "http://a..invalid/a.png"])
def test_malformed_urls_are_refused_with_a_code(signed_server, url):
    assert_error(call(signed_server, {"ImageUrl": url}), "IllegalUrlParameter", 400)


@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data; name="x"\r\n'
     b"Content-Type: text/plain; charset=bogus\r\n\r\nv\r\n--b--\r\n"),
    ("multipart/form-data; boundary*=utf-8''%E2%82%AC", b"--\xe2\x82\xac--\r\n"),
])
def test_malformed_forms_are_refused_with_a_code(tmp_path, content_type, body):
    with api_server(tmp_path, "--unsigned") as server:
        response = requests.post(server + "/?Action=InteractiveScribbleSegmentation", data=body,
                                 headers={"Content-Type": content_type}, timeout=30)
    assert_error(response, "InvalidParameter", 400)


# 8. Refusals the HTTP layer makes come in the API's error body too.
@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(120))
     + b"\r\n", 431),
    (b"GET /?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
    (b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # not a method the parser knows
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400),
])
def test_http_refusals_come_in_the_api_error_body(signed_server, request_bytes, status):
    api_error(raw(signed_server, request_bytes), status, "InvalidParameter")
    assert requests.get(signed_server + "/health", timeout=10).status_code == 200


def test_refusals_come_as_xml_when_asked(signed_server):
    response = requests.get(signed_server + "/nowhere?Format=XML", timeout=10)
    assert response.status_code == 404
    assert b"<Code>InvalidParameter</Code>" in response.content


def test_head_on_a_result(signed_server):
    result_url = call(signed_server, {}, GOOD_FILES).json()["Data"]["ResultUrl"]
    head = requests.head(result_url, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Type"] == "image/png"
    assert not head.content


# 9. SIGTERM: requests in flight finish, temporary results go; result files are 0600.
def test_sigterm_finishes_in_flight_requests_and_leaves_no_temporary_files(tmp_path):
    listener = Listener(lambda client: (time.sleep(2), client.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(GOOD_FILES["ImageUrl"])
        + GOOD_FILES["ImageUrl"])))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    (tmp_path / "no-models").mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "scribbleseg", "serve", "--port", "0", "--unsigned",
         "--allow-fetch", "127.0.0.0/8"], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, TMPDIR=str(temporary), SCRIBBLESEG_MODELS=str(tmp_path / "no-models")))
    server = process.stdout.readline().split()[-1]
    done = call(server, {}, GOOD_FILES, signed=False)
    results = [path for path in temporary.rglob("*") if path.is_file()]
    assert results and all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in results)
    in_flight: list[requests.Response] = []
    thread = threading.Thread(target=lambda: in_flight.append(call(
        server, {"ImageUrl": f"http://127.0.0.1:{listener.port}/a.png"},
        {"PosScribbleImageUrl": GOOD_FILES["PosScribbleImageUrl"]}, signed=False)))
    thread.start()
    while listener.accepted == 0:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    thread.join()
    assert process.wait(timeout=30) == 0
    process.stdout.close()
    listener.close()
    assert done.status_code == 200
    assert in_flight[0].status_code == 200, in_flight[0].text
    assert list(temporary.iterdir()) == []


# 10. ResultUrl never from the Host header; waiting clients served in arrival order.
def test_result_url_ignores_the_host_header(tmp_path):
    with api_server(tmp_path, "--unsigned") as server:
        body, content_type = multipart_body({"Action": "InteractiveScribbleSegmentation"},
                                            GOOD_FILES)
        response = requests.post(server + "/", data=body, timeout=60, headers={
            "Content-Type": content_type, "Host": "evil.example"})
        assert response.json()["Data"]["ResultUrl"].startswith(server + "/results/")
        assert fetch_result(response).size == (320, 240)


def test_waiting_clients_are_served_in_arrival_order(tmp_path):
    with api_server(tmp_path, "--unsigned", "--workers", "1", "--queue", "4") as server:
        call(server, {}, GOOD_FILES, signed=False)  # warm: the worker has started
        finished: list[int] = []

        def client(index: int) -> None:
            assert call(server, {}, GOOD_FILES, signed=False).status_code == 200
            finished.append(index)

        threads = [threading.Thread(target=client, args=(index,)) for index in range(5)]
        for thread in threads:
            thread.start()
            time.sleep(0.15)  # arrival order 0, 1, 2, ...
        for thread in threads:
            thread.join()
    assert finished == sorted(finished), finished


# The HTTP layer's own guards: a connection cap and an idle (slow headers) limit.
def test_connections_beyond_the_cap_are_throttled_and_idle_ones_closed(signed_server):
    from scribbleseg.server.httpserver import IDLE_S, MAX_CONNECTIONS

    address = urlsplit(signed_server)
    held = [socket.create_connection((address.hostname, address.port), timeout=30)
            for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.5)
        answer = api_error(raw(signed_server, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 429,
                           "Throttling")
        assert answer["Message"]
        started = time.monotonic()
        held[0].sendall(b"GET /health HTTP/1.1\r\nHo")  # and never the rest
        assert held[0].recv(100) == b""  # closed by the server
        assert time.monotonic() - started < IDLE_S + 5
    finally:
        for connection in held:
            connection.close()
    time.sleep(0.5)
    assert requests.get(signed_server + "/health", timeout=10).status_code == 200
