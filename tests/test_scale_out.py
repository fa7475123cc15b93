"""Scale-out (issue 14): instances behind nginx sharing an S3 result store and Redis replay state.

Everything runs on loopback on free ports and is stopped by its fixture: a real redis-server and
nginx (Debian packages), moto's standalone server as the S3-compatible store (no real object
store is installed here), and two `scribbleseg serve` instances, weights-free. Requests are
signed by the project's cloud client (scribbleseg.cloud.rpc). Each part skips, naming what is
missing, when its program or Python package is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from test_server_cloud import GOOD_FILES, api_server

from scribbleseg.cloud.credentials import Credentials
from scribbleseg.cloud.rpc import RpcCall, build_request
from scribbleseg.protocol import ACTION, API_VERSION

KEY_ID, SECRET = "scale-key", "scale-secret"
BUCKET, PREFIX = "scribbleseg-test", "results"
RESULT_MINUTES = 0.2  # 12 s: long enough to fetch, short enough to see a result expire
INSTANCE = "X-ScribbleSeg-Instance"
S3_ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                  "AWS_DEFAULT_REGION": "us-east-1"}


def _need_program(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package {name}; .ci/run installs it)")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}: {log.read_text()}")


@contextmanager
def _process(command: list[str], log: Path, port: int, env: dict | None = None):
    """A background program, its output in `log`, until it listens on `port`; stopped after."""
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   env=dict(os.environ, **(env or {})))
    try:
        _wait_for_port(port, process, log)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    program = _need_program("redis-server")
    pytest.importorskip("redis", reason="the scale extra (pip install '.[scale]') is missing")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    command = [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
               "--appendonly", "no", "--dir", str(folder)]
    with _process(command, folder / "redis.log", port):
        yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    pytest.importorskip("boto3", reason="the scale extra (pip install '.[scale]') is missing")
    pytest.importorskip("moto.server", reason="moto[server] (the stand-in S3) is missing")
    import boto3

    port = _free_port()
    folder = tmp_path_factory.mktemp("moto")
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with _process(command, folder / "moto.log", port, S3_ENVIRONMENT):
        endpoint = f"http://127.0.0.1:{port}"
        with pytest.MonkeyPatch.context() as patch:
            for name, value in S3_ENVIRONMENT.items():
                patch.setenv(name, value)
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
            yield endpoint


def signed_request(endpoint: str, nonce: str | None = None):
    """The project's cloud client's V3-signed request of the action, with files."""
    call = RpcCall(endpoint.rstrip("/") + "/", ACTION, API_VERSION, files=GOOD_FILES,
                   params={"ReturnForm": "only_alpha", "ReturnFormat": "PNG"})
    return build_request(call, Credentials(KEY_ID, SECRET), "v3", now=datetime.now(UTC),
                         nonce=nonce or uuid.uuid4().hex)


def send(request, to: str | None = None) -> requests.Response:
    """Send a built request (to another base URL with `to`: the same bytes, a replay)."""
    url = request.url if to is None else to.rstrip("/") + "/" + request.url.split("/", 3)[3]
    return requests.post(url, data=request.body, headers=request.headers, timeout=120)


# --- the parts on their own ---------------------------------------------------------------------

def test_s3_store_presigns_and_expires(s3_endpoint, monkeypatch):
    for name, value in S3_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    from scribbleseg.server.s3store import S3Store

    store = S3Store(f"s3://{BUCKET}/unit", ttl_s=2, presign=True, endpoint_url=s3_endpoint)
    store.add_lifecycle_rule()
    store.check()
    name = store.put(b"\x89PNG data", "image/png")
    assert store.get(name) == (b"\x89PNG data", "image/png")
    link = store.link(name)
    assert "X-Amz-Expires=2" in link and requests.get(link, timeout=10).content == b"\x89PNG data"
    assert store.get("../" + name) is None
    time.sleep(3)
    assert store.get(name) is None
    assert store.remove_expired() == 1
    rules = store.client.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert [rule["ID"] for rule in rules] == ["scribbleseg-results"]


def test_redis_refuses_a_nonce_twice(redis_url):
    from scribbleseg.server.redisstate import RedisNonceStore

    first, second = RedisNonceStore(redis_url), RedisNonceStore(redis_url)  # two instances
    key = f"{KEY_ID}\n{uuid.uuid4().hex}"
    assert first.add(key, time.time() + 60)
    assert not second.add(key, time.time() + 60)
    assert 0 < first.client.ttl("scribbleseg:nonce:" + key) <= 61


def test_an_instance_without_its_redis_is_not_ready_and_says_why(tmp_path):
    pytest.importorskip("redis", reason="the scale extra (pip install '.[scale]') is missing")
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({KEY_ID: SECRET}))
    nowhere = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    with api_server(tmp_path, "--keys", str(keys), "--state", nowhere, "--workers", "1") as url:
        assert requests.get(url + "/healthz", timeout=5).status_code == 200
        deadline = time.monotonic() + 120
        while "loading the model" in (ready := requests.get(url + "/readyz", timeout=10)).text:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert ready.status_code == 503
        assert ready.json()["problems"][0].startswith("the replay state cannot be reached")
        refused = send(signed_request(url))
        assert refused.status_code == 500
        assert "The replay state (Redis) cannot be reached" in refused.json()["Message"]


# --- two instances behind nginx -----------------------------------------------------------------

class Cluster:
    """nginx's URL in front, and each instance's own URL and process by instance id."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder  # NAME.log: an instance's output
        self.instances: dict[str, tuple[str, subprocess.Popen]] = {}


NGINX_CONFIG = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
{user}
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream scribbleseg {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 64m;
        location / {{
            proxy_pass http://scribbleseg;
            proxy_set_header Host $http_host;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


@contextmanager
def _nginx(folder: Path, port: int, upstreams: list[str]):
    program = _need_program("nginx")
    servers = "\n".join(f"        server {address} max_fails=1 fail_timeout=10s;"
                        for address in upstreams)
    user = "user root;" if os.geteuid() == 0 else ""  # workers read the temporary files
    config = folder / "nginx.conf"
    config.write_text(NGINX_CONFIG.format(folder=folder, user=user, servers=servers, port=port))
    with _process([program, "-p", str(folder), "-c", str(config)], folder / "nginx.log", port):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _instance(folder: Path, name: str, public_url: str, options: list[str], env: dict):
    port = _free_port()
    models = folder / "no-models"
    models.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "scribbleseg", "serve", "--host", "127.0.0.1", "--port",
               str(port), "--public-url", public_url, "--instance-id", name, "--workers", "1",
               "--verbose", *options]
    with _process(command, folder / f"{name}.log", port,
                  dict(env, SCRIBBLESEG_MODELS=str(models))) as process:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while requests.get(url + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, (folder / f"{name}.log").read_text()
            time.sleep(0.2)
        yield url, process


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, redis_url, s3_endpoint):
    _need_program("nginx")
    folder = tmp_path_factory.mktemp("cluster")
    keys = folder / "keys.json"
    keys.write_text(json.dumps({KEY_ID: SECRET}))
    nginx_port = _free_port()
    public_url = f"http://127.0.0.1:{nginx_port}"
    options = ["--keys", str(keys), "--results", f"s3://{BUCKET}/{PREFIX}",
               "--s3-endpoint", s3_endpoint, "--state", redis_url,
               "--result-minutes", str(RESULT_MINUTES)]
    with _instance(folder, "one", public_url, options, S3_ENVIRONMENT) as one, \
            _instance(folder, "two", public_url, options, S3_ENVIRONMENT) as two, \
            _nginx(folder, nginx_port, [url.removeprefix("http://") for url, _ in (one, two)]):
        cluster = Cluster(public_url, folder)
        cluster.instances = {"one": one, "two": two}
        yield cluster


def _segment(cluster: Cluster) -> tuple[str, str]:
    """(instance that answered, ResultUrl) of one signed request through nginx."""
    reply = send(signed_request(cluster.url))
    assert reply.status_code == 200, reply.text
    return reply.headers[INSTANCE], reply.json()["Data"]["ResultUrl"]


def test_requests_land_on_both_and_every_result_url_works_everywhere(cluster):
    answers = [_segment(cluster) for _ in range(4)]
    assert {instance for instance, _ in answers} == {"one", "two"}
    for _, result_url in answers:
        assert result_url.startswith(cluster.url + "/results/")
        path = result_url.removeprefix(cluster.url)
        for instance_url, _ in cluster.instances.values():  # whichever instance is asked
            reply = requests.get(instance_url + path, timeout=10)
            assert reply.status_code == 200 and reply.content.startswith(b"\x89PNG")


def test_a_nonce_used_on_one_instance_is_refused_on_the_other(cluster):
    (one, _), (two, _) = cluster.instances["one"], cluster.instances["two"]
    request = signed_request(cluster.url)
    assert send(request, to=one).status_code == 200
    replay = send(request, to=two)
    assert replay.status_code == 403 and replay.json()["Code"] == "AuthFailed"
    assert "SignatureNonce was already used" in replay.json()["Message"]


def test_a_result_expires(cluster):
    _, result_url = _segment(cluster)
    assert requests.get(result_url, timeout=10).status_code == 200
    time.sleep(RESULT_MINUTES * 60 + 2)
    gone = requests.get(result_url, timeout=10)
    assert gone.status_code == 404 and "expired" in gone.json()["Message"]


def test_health_readiness_and_metrics(cluster):
    one, _ = cluster.instances["one"]
    assert requests.get(one + "/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(one + "/readyz", timeout=5).json() == {"status": "ready"}
    metrics = requests.get(one + "/metrics", timeout=5).text
    assert 'scribbleseg_requests_total{code="200",path="/"}' in metrics
    assert "scribbleseg_engine_seconds_count" in metrics
    assert "scribbleseg_queue_depth 0.0" in metrics
    log = [json.loads(line) for line in (cluster.folder / "one.log").read_text().splitlines()
           if line.startswith("{")]
    assert any(entry["path"] == "/" and entry["status"] == 200 and len(entry["RequestId"]) == 36
               for entry in log)


def test_load_test_through_nginx_reaches_both_instances(cluster, monkeypatch):
    from scribbleseg.bench.load import run_load_test

    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    numbers = run_load_test(clients=4, seconds=3, endpoint=cluster.url)
    assert numbers["completed"] > 0 and numbers["errors"] == 0, numbers
    assert numbers["lost"] == numbers["mixed_up"] == 0
    assert set(numbers["answers_by_instance"]) == {"one", "two"}


def test_stopping_one_instance_mid_run_loses_no_result(cluster):
    """Runs last: instance "two" is stopped while requests are in flight."""
    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(_segment, cluster) for _ in range(4)]
        time.sleep(0.3)
        cluster.instances["two"][1].send_signal(signal.SIGTERM)
        answers = [future.result() for future in running]
    cluster.instances["two"][1].wait(timeout=30)
    answers += [_segment(cluster) for _ in range(3)]  # nginx keeps answering, from "one"
    assert {instance for instance, _ in answers[4:]} == {"one"}
    for _, result_url in answers:  # every finished result is still there
        assert requests.get(result_url, timeout=10).status_code == 200
