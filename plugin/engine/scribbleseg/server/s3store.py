"""Results on an S3-compatible object store (AWS S3, MinIO, Alibaba OSS in S3 mode), via boto3.

`serve --results s3://BUCKET/PREFIX`: every instance behind the load balancer writes and reads
the same bucket, so a ResultUrl works whichever instance answers it. Endpoint, region and
credentials come from the usual AWS variables (AWS_ENDPOINT_URL, AWS_DEFAULT_REGION,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the serve flags that override them.

Expiry: `get` refuses an object older than the time to live and the server's cleaner deletes it
(`remove_expired`); a lifecycle rule on the prefix (where the store has them; their unit is a
day) is the backstop for objects no instance is left to clean. With `presign`, ResultUrl is a
presigned GET of the store, valid for the time to live. boto3 blocks: the server calls this from
threads.
"""

from __future__ import annotations

import contextlib
import time
from urllib.parse import urlsplit

from scribbleseg.protocol import RESULT_LIFETIME_S
from scribbleseg.server.results import CONTENT_TYPES, NAME_PATTERN, new_name
from scribbleseg_editor.errors import ScribbleSegError

LIFECYCLE_RULE_ID = "scribbleseg-results"


class S3Store:
    def __init__(self, url: str, ttl_s: float = RESULT_LIFETIME_S, *, presign: bool = False,
                 endpoint_url: str | None = None, region: str | None = None) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise ScribbleSegError(
                "InvalidParameter", "--results s3://... needs boto3: pip install "
                "'scribbleseg[scale]'.") from None
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ScribbleSegError("InvalidParameter", f"{url!r} is not s3://BUCKET/PREFIX.")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/") + "/" if parts.path.strip("/") else ""
        self.ttl_s = ttl_s
        self.presign = presign
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region,
            config=Config(signature_version="s3v4", connect_timeout=3, read_timeout=10,
                          retries={"max_attempts": 3}))

    def put(self, data: bytes, content_type: str) -> str:
        name = new_name(content_type)
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data,
                               ContentType=content_type)
        return name

    def get(self, name: str) -> tuple[bytes, str] | None:
        if not NAME_PATTERN.fullmatch(name):
            return None
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)
        except self.client.exceptions.NoSuchKey:
            return None
        if self._expired(found["LastModified"].timestamp()):
            found["Body"].close()
            return None
        return found["Body"].read(), CONTENT_TYPES["." + name.rsplit(".", 1)[1]]

    def link(self, name: str) -> str | None:
        """A presigned GET of the object, valid for the time to live (with `presign`)."""
        if not self.presign:
            return None
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.prefix + name},
            ExpiresIn=max(1, int(self.ttl_s)))

    def remove_expired(self) -> int:
        expired = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix):
            expired += [{"Key": item["Key"]} for item in page.get("Contents", [])
                        if self._expired(item["LastModified"].timestamp())]
        for start in range(0, len(expired), 1000):  # DeleteObjects takes 1000 keys at most
            self.client.delete_objects(Bucket=self.bucket,
                                       Delete={"Objects": expired[start:start + 1000]})
        return len(expired)

    def check(self) -> None:
        """Raise when the bucket cannot be reached (readiness)."""
        self.client.head_bucket(Bucket=self.bucket)

    def add_lifecycle_rule(self) -> None:
        """Expire the prefix's objects after a day (the unit of lifecycle rules), the backstop to
        the cleaner; a store without lifecycle rules is left to the cleaner alone."""
        rule = {"ID": LIFECYCLE_RULE_ID, "Filter": {"Prefix": self.prefix}, "Status": "Enabled",
                "Expiration": {"Days": 1}}
        from botocore.exceptions import ClientError

        try:
            rules = self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"]
        except ClientError:
            rules = []  # none yet (or not supported: the put below says so)
        rules = [other for other in rules if other.get("ID") != LIFECYCLE_RULE_ID] + [rule]
        # The operator's own rules are kept, ours replaced by its ID. Not supported, or no right
        # to set it: the cleaner does the work.
        with contextlib.suppress(ClientError):
            self.client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket, LifecycleConfiguration={"Rules": rules})

    def _expired(self, written_at: float) -> bool:
        return time.time() - written_at > self.ttl_s
