"""Constants of the InteractiveScribbleSegmentation protocol (../shared/specs/cloud-api.md),
shared by the server, the cloud client and the load test."""

from __future__ import annotations

ACTION = "InteractiveScribbleSegmentation"
API_VERSION = "2024-01-11"
# Our server's answer to `GET /` carries this header when it takes files as multipart parts.
CAPABILITY_HEADER = "X-ScribbleSeg-Upload"
DIRECT_UPLOAD = "direct"
RESULT_LIFETIME_S = 30 * 60  # how long a ResultUrl stays valid
