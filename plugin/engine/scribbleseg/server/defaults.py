"""The cloud server's default limits, shared by CloudSettings and `scribbleseg serve`'s flags.

Kept apart from cloud.py so that the command line can show them without importing aiohttp.
"""

from __future__ import annotations

FETCH_TIMEOUT_S = 10.0  # one input URL: connect, headers, redirects and body together
FETCH_SLOTS = 16  # downloads at once, apart from the segmentation workers
JOB_LIMIT_S = 60.0  # decoding and segmentation of one request
