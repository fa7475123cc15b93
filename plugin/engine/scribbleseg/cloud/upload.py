"""How local files reach a service that only takes URLs: the vendor's "Advance" upload flow.

For each file: (1) AuthorizeFileUpload on openplatform (version 2019-12-19, GET, signed like any
call) grants a one-object OSS upload; (2) an OSS PostObject form puts the file there; (3) the
object's URL is passed as the parameter. ../shared/specs/cloud-api.md describes the fields.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scribbleseg.cloud.errors import CloudError
from scribbleseg.cloud.rpc import RpcCall, RpcClient

OPENPLATFORM_HOST = "openplatform.aliyuncs.com"
OPENPLATFORM_VERSION = "2019-12-19"
ACCELERATED_OSS_ENDPOINT = "oss-accelerate.aliyuncs.com"
GRANT_FIELDS = ("AccessKeyId", "Bucket", "EncodedPolicy", "Endpoint", "ObjectKey", "Signature")


def openplatform_endpoint(service_endpoint: str) -> str:
    """The vendor's openplatform, reached with the scheme the service endpoint uses."""
    return f"{urlsplit(service_endpoint).scheme}://{OPENPLATFORM_HOST}/"


def upload_to_oss(
    client: RpcClient, data: bytes, *, openplatform: str, product: str, region: str
) -> str:
    """Upload one file through AuthorizeFileUpload + OSS PostObject; return its URL."""
    grant = client.call(RpcCall(
        openplatform, "AuthorizeFileUpload", OPENPLATFORM_VERSION,
        params={"Product": product, "RegionId": region}, method="GET",
    ))
    missing = [name for name in GRANT_FIELDS if not grant.get(name)]
    if missing:
        raise CloudError(
            "Cloud.Upload", f"AuthorizeFileUpload's answer lacks {', '.join(missing)}",
            request_id=grant.get("RequestId"),
        )
    oss_endpoint = ACCELERATED_OSS_ENDPOINT if grant.get("UseAccelerate") else grant["Endpoint"]
    bucket_host = f"{grant['Bucket']}.{oss_endpoint}"
    client.post_form(f"{urlsplit(openplatform).scheme}://{bucket_host}/", [
        ("OSSAccessKeyId", grant["AccessKeyId"]),
        ("Signature", grant["Signature"]),
        ("key", grant["ObjectKey"]),
        ("policy", grant["EncodedPolicy"]),
        ("success_action_status", "201"),
        ("file", (grant["ObjectKey"], data, "application/octet-stream")),  # OSS wants it last
    ])
    return f"http://{bucket_host}/{grant['ObjectKey']}"
