"""Load test of the cloud API server (issue 3): many clients, each checking its own mask.

`run_load_test` starts `scribbleseg serve` on loopback in a subprocess (V3-signed, a temporary
AccessKey), then runs `clients` threads for `seconds`. Each client owns a synthetic image whose
object sits in its own cell of a grid. After an untimed warm-up (each client's first stroke,
which runs the model prior on its image) every client repeatedly sends its image with its
strokes as multipart files (a user's next strokes on the same image), fetches the
ResultUrl and compares the mask with its own object: a mask that matches another client's object
(or none) counts as mixed up, an answer whose ResultUrl does not work as lost. Throttled requests
wait the server's x-acs-retry-after (milliseconds) and try again.

With `endpoint` (`bench --load --endpoint http://HOST:PORT`) no server is started: the clients
call the one given, e.g. a load balancer in front of several instances, signed with the AccessKey
the cloud client finds (ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, or cloud.json); the answers are
counted by the instance that made them (X-ScribbleSeg-Instance).
"""

from __future__ import annotations

import http.client
import io
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from scribbleseg.cloud.credentials import Credentials, find_credentials
from scribbleseg.cloud.rpc import RpcCall, build_request
from scribbleseg.output import png_bytes
from scribbleseg.protocol import ACTION, API_VERSION
from scribbleseg_editor.errors import ScribbleSegError

GRID = 4  # clients' objects sit in a GRID x GRID layout, so no two clients share one
HEIGHT, WIDTH = 480, 640
KEY_ID, SECRET = "load-test", "load-test-secret"
WARM_UP_LIMIT_S = 600
HTTP_LIMIT_S = 120  # one exchange, under 16 clients' load on a few cores
DEFAULT_RETRY_AFTER_MS = 1000  # when a Throttling answer names no wait
OWN_MASK_IOU = 0.8  # a mask this close to the client's object is its own
INSTANCE_HEADER = "x-scribbleseg-instance"  # cloud.py's X-ScribbleSeg-Instance, as _http reads it


@dataclass(frozen=True)
class SyntheticCase:
    image: np.ndarray  # HxWx3 uint8
    positive: np.ndarray  # HxW bool
    negative: np.ndarray
    truth: np.ndarray  # HxW bool, the object


def synthetic_case(index: int, height: int = HEIGHT, width: int = WIDTH) -> SyntheticCase:
    """A textured background with an ellipse in grid cell `index % GRID**2`, and its strokes."""
    rows, cols = np.mgrid[0:height, 0:width]
    cell_h, cell_w = height / GRID, width / GRID
    cy, cx = ((index % GRID**2) // GRID + 0.5) * cell_h, ((index % GRID) + 0.5) * cell_w
    ry, rx = 0.35 * cell_h, 0.35 * cell_w
    truth = ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 <= 1
    noise = np.random.default_rng(index).integers(0, 24, (height, width, 3))
    background = np.stack([60 + cols * 80 // width, 90 + rows * 60 // height,
                           150 + 0 * rows], axis=-1)
    colour = np.array([220, 60 + 10 * (index % 8), 40])
    image = np.where(truth[..., None], colour, background) + noise
    positive = (np.abs(rows - cy) <= 1) & (np.abs(cols - cx) <= 0.5 * rx)
    negative = np.zeros((height, width), bool)
    negative[3:6, :] = negative[-6:-3, :] = True
    return SyntheticCase(image.clip(0, 255).astype(np.uint8), positive, negative, truth)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    throttled: int = 0
    errors: list[str] = field(default_factory=list)
    lost: int = 0
    mixed_up: int = 0
    by_client: Counter = field(default_factory=Counter)  # answers each client got (starving?)
    by_instance: Counter = field(default_factory=Counter)  # answers each server instance made
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_load_test(clients: int = 16, seconds: float = 60, *, workers: int | None = None,
                  queue: int | None = None, endpoint: str | None = None) -> dict:
    """Numbers of one run: requests/s, p50/p99 latency, throttled, errors, lost, mixed up."""
    if endpoint is not None:
        return _load(urlsplit(endpoint).netloc, _endpoint_credentials(), clients, seconds)
    with tempfile.TemporaryDirectory(prefix="scribbleseg-load-") as folder:
        keys = Path(folder) / "keys.json"
        keys.write_text(json.dumps({KEY_ID: SECRET}))
        command = [sys.executable, "-m", "scribbleseg", "serve", "--host", "127.0.0.1",
                   "--port", "0", "--keys", str(keys), "--results", str(Path(folder) / "results")]
        command += ["--workers", str(workers)] if workers else []
        command += ["--queue", str(queue)] if queue is not None else []
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            address = urlsplit(server.stdout.readline().split()[-1]).netloc
            return _load(address, Credentials(KEY_ID, SECRET), clients, seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _endpoint_credentials() -> Credentials:
    credentials = find_credentials()
    if credentials is None:
        raise ScribbleSegError(
            "InvalidParameter", "--endpoint needs an AccessKey of those servers: set "
            "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET.")
    return credentials


def _load(address: str, credentials: Credentials, clients: int, seconds: float) -> dict:
    cases = [synthetic_case(index) for index in range(clients)]
    # Warm-up, not timed: each client's first stroke on its image (model prior).
    warm_up_s = _run_clients(address, credentials, cases, WARM_UP_LIMIT_S, Tally(), once=True)
    tally = Tally()
    elapsed = _run_clients(address, credentials, cases, seconds, tally)
    return _summary(tally, clients, elapsed) | {"warm_up_s": round(warm_up_s, 1)}


def _run_clients(address: str, credentials: Credentials, cases: list[SyntheticCase],
                 seconds: float, tally: Tally, once: bool = False) -> float:
    """Seconds taken by one thread a case, each until the time is up (or, with once, until it
    got an answer)."""
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=_client,
                                args=(address, credentials, case, deadline, tally, once))
               for case in cases]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def _client(address: str, credentials: Credentials, case: SyntheticCase, deadline: float,
            tally: Tally, once: bool) -> None:
    files = {"ImageUrl": png_bytes(case.image), "PosScribbleImageUrl": png_bytes(case.positive),
             "NegScribbleImageUrl": png_bytes(case.negative)}
    while time.monotonic() < deadline:
        retry_after = _call(address, credentials, files, case.truth, tally, id(case))
        if retry_after:
            time.sleep(min(retry_after, max(0.0, deadline - time.monotonic())))
        elif once:
            return


def _call(address: str, credentials: Credentials, files: dict[str, bytes], truth: np.ndarray,
          tally: Tally, client: int) -> float:
    """One request and its ResultUrl; returns the wait asked for when throttled, else 0."""
    call = RpcCall(f"http://{address}/", ACTION, API_VERSION, files=files,
                   params={"ReturnForm": "only_alpha", "ReturnFormat": "PNG"})
    # Signed as the cloud client signs, afresh for each try (the server refuses a replay).
    signed = build_request(call, credentials, "v3", now=datetime.now(UTC),
                           nonce=uuid.uuid4().hex)
    started = time.monotonic()
    try:
        target = urlsplit(signed.url)
        status, headers, answer = _http(address, "POST", f"{target.path}?{target.query}",
                                        signed.body, signed.headers)
        if status == 429:
            with tally.lock:
                tally.throttled += 1
            return float(headers.get("x-acs-retry-after", DEFAULT_RETRY_AFTER_MS)) / 1000
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {answer[:200]!r}")
        instance = headers.get(INSTANCE_HEADER, "?")
        result_url = urlsplit(json.loads(answer)["Data"]["ResultUrl"])
        status, _, png = _http(result_url.netloc, "GET", result_url.path)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        with tally.lock:
            tally.errors.append(str(error))
        return 0
    latency = time.monotonic() - started
    with tally.lock:
        if status != 200:
            tally.lost += 1
        elif not _is_own_mask(np.asarray(Image.open(io.BytesIO(png))) >= 128, truth):
            tally.mixed_up += 1
        else:
            tally.latencies.append(latency)
            tally.by_client[client] += 1
            tally.by_instance[instance] += 1
    return 0


def _is_own_mask(mask: np.ndarray, truth: np.ndarray) -> bool:
    return mask.shape == truth.shape and (mask & truth).sum() / (mask | truth).sum() >= OWN_MASK_IOU


def _http(address: str, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=HTTP_LIMIT_S)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _summary(tally: Tally, clients: int, elapsed: float) -> dict:
    latencies = sorted(tally.latencies)

    def percentile(fraction: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] if latencies \
            else None

    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "image": f"{WIDTH}x{HEIGHT}",
        "completed": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 2),
        "latency_p50_s": percentile(0.50),
        "latency_p99_s": percentile(0.99),
        "latency_mean_s": statistics.fmean(latencies) if latencies else None,
        "throttled": tally.throttled,
        "errors": len(tally.errors),
        "first_error": tally.errors[0] if tally.errors else None,
        "lost": tally.lost,
        "mixed_up": tally.mixed_up,
        "fewest_answers_of_a_client": min(tally.by_client.values())
        if len(tally.by_client) == clients else 0,
        "answers_by_instance": dict(sorted(tally.by_instance.items())),
    }
