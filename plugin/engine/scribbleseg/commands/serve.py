"""`scribbleseg serve`: the desktop engine host (--local) or the cloud-compatible API server."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from scribbleseg.protocol import RESULT_LIFETIME_S
from scribbleseg.server import defaults
from scribbleseg_editor.errors import ScribbleSegError

if TYPE_CHECKING:
    from scribbleseg.server.results import ResultStore

# Waiting places a worker: enough that clients which send their next request as soon as they
# have an answer cannot keep the others (refused, coming back later) out for good.
QUEUE_PER_WORKER = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--local", action="store_true",
                        help="desktop mode for the editor plug-ins: 127.0.0.1, free port, token")
    parser.add_argument("--idle-minutes", type=float, default=math.inf,
                        help="desktop mode: exit after this long without requests (the plug-ins "
                             "pass manifest.json's idle_exit_minutes; default: never)")
    cloud = parser.add_argument_group("cloud mode (the InteractiveScribbleSegmentation API)")
    cloud.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    cloud.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any free)")
    cloud.add_argument("--keys", type=Path,
                       help="AccessKey file: JSON object mapping AccessKeyId to AccessKeySecret")
    cloud.add_argument("--unsigned", action="store_true",
                       help="accept unsigned requests (loopback binds only)")
    cloud.add_argument("--allow-fetch", action="append", default=[], metavar="CIDR",
                       type=_network, help="let input URLs reach this private range (repeatable)")
    cloud.add_argument("--public-url",
                       help="base of ResultUrl, e.g. https://seg.example.com (default: the bind "
                            "address; required when binding 0.0.0.0 or ::)")
    cloud.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="segmentations run at once (default: CPU cores)")
    cloud.add_argument("--queue", type=int, default=None,
                       help="requests waiting, in arrival order, beyond the workers before "
                            f"Throttling (default {QUEUE_PER_WORKER} x workers)")
    cloud.add_argument("--results",
                       help="folder of results, or s3://BUCKET/PREFIX of an S3-compatible store "
                            "shared by several instances (default: a temporary folder removed "
                            "at exit)")
    cloud.add_argument("--presign", action="store_true",
                       help="with s3://: ResultUrl is a presigned GET of the store")
    cloud.add_argument("--s3-endpoint", help="S3-compatible endpoint URL (default: "
                       "AWS_ENDPOINT_URL, else AWS S3)")
    cloud.add_argument("--s3-region", help="region (default: AWS_DEFAULT_REGION)")
    cloud.add_argument("--state", metavar="redis://HOST:PORT/DB",
                       help="replay state (nonces) in Redis, shared by several instances "
                            "(default: this process)")
    cloud.add_argument("--instance-id", help="name in X-ScribbleSeg-Instance and the access "
                       "log (default: host name and process id)")
    cloud.add_argument("--result-minutes", type=float,
                       default=RESULT_LIFETIME_S / 60,
                       help=f"how long a ResultUrl works (default {RESULT_LIFETIME_S / 60:g})")
    cloud.add_argument("--fetch-timeout", type=float, default=defaults.FETCH_TIMEOUT_S,
                       help="seconds to download one input URL, all of it "
                            f"(default {defaults.FETCH_TIMEOUT_S:g})")
    cloud.add_argument("--fetch-slots", type=int, default=defaults.FETCH_SLOTS,
                       help="downloads at once, apart from the workers "
                            f"(default {defaults.FETCH_SLOTS})")
    cloud.add_argument("--job-seconds", type=float, default=defaults.JOB_LIMIT_S,
                       help="time limit to decode and segment one request "
                            f"(default {defaults.JOB_LIMIT_S:g})")
    cloud.add_argument("--verbose", action="store_true",
                       help="log every request to stderr (a JSON line with its RequestId)")


def run(args: argparse.Namespace) -> int:
    if args.local:
        from scribbleseg.server.local import run_local

        return run_local(args.idle_minutes)
    if (args.keys is None) == (not args.unsigned):
        raise ScribbleSegError("InvalidParameter", "Give either --keys FILE or --unsigned.")
    if args.keys is not None and args.public_url is None and args.host in ("0.0.0.0", "::", ""):
        raise ScribbleSegError(
            "InvalidParameter", f"Binding {args.host or 'all addresses'} needs --public-url (the "
            "address clients reach, the base of ResultUrl).")
    if min(args.workers, args.fetch_slots) < 1 or min(args.fetch_timeout, args.job_seconds) <= 0:
        raise ScribbleSegError("InvalidParameter", "--workers and --fetch-slots must be 1 or "
                               "more, --fetch-timeout and --job-seconds above 0.")
    if args.presign and not (args.results or "").startswith("s3://"):
        raise ScribbleSegError("InvalidParameter", "--presign needs --results s3://BUCKET/PREFIX.")
    if args.state is not None and not args.state.startswith(("redis://", "rediss://")):
        raise ScribbleSegError("InvalidParameter", "--state takes a redis:// or rediss:// URL.")
    if args.results is not None:
        return _serve_cloud(args, args.results)
    with tempfile.TemporaryDirectory(prefix="scribbleseg-results-") as folder:
        return _serve_cloud(args, folder)


def _result_store(args: argparse.Namespace, results: str, ttl_s: float) -> ResultStore:
    from scribbleseg.server.results import LocalDiskStore

    if not results.startswith("s3://"):
        return LocalDiskStore(Path(results), ttl_s)
    from scribbleseg.server.s3store import S3Store

    store = S3Store(results, ttl_s, presign=args.presign, endpoint_url=args.s3_endpoint,
                    region=args.s3_region)
    store.add_lifecycle_rule()
    return store


def _serve_cloud(args: argparse.Namespace, results: str) -> int:
    from scribbleseg.server.auth import load_keys
    from scribbleseg.server.cloud import CloudServer, CloudSettings

    nonces = None
    if args.state is not None:
        from scribbleseg.server.redisstate import RedisNonceStore

        nonces = RedisNonceStore(args.state)
    settings = CloudSettings(
        host=args.host, port=args.port,
        keys=None if args.unsigned else load_keys(args.keys),
        allow_fetch=args.allow_fetch, public_url=args.public_url,
        workers=args.workers,
        queue=QUEUE_PER_WORKER * args.workers if args.queue is None else args.queue,
        result_ttl_s=args.result_minutes * 60, fetch_timeout_s=args.fetch_timeout,
        fetch_slots=args.fetch_slots, job_limit_s=args.job_seconds, nonces=nonces,
    )
    if args.instance_id:
        settings.instance_id = args.instance_id
    server = CloudServer(settings, _result_store(args, results, settings.result_ttl_s))
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(f"ScribbleSeg API listening on {server.url}", flush=True)
    try:
        server.serve_forever()  # until SIGTERM or Ctrl+C, then requests in flight finish
    finally:
        server.server_close()
    return 0


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a CIDR range: {error}") from None
