"""Where the AccessKey comes from: arguments, then the environment, then cloud.json.

cloud.json lives in the ScribbleSeg settings folder (scribbleseg_editor.hostfile.config_dir()):
    {"access_key_id": "...", "access_key_secret": "...", "security_token": "..." (optional)}
The secret is never logged, printed or put in an error text.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from scribbleseg.cloud.errors import CloudError
from scribbleseg_editor.hostfile import config_dir

CONFIG_FILE_NAME = "cloud.json"
ENV_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"


@dataclass(frozen=True)
class Credentials:
    """An AccessKey pair, with the STS security token when the key is temporary."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


def config_file() -> Path:
    return config_dir() / CONFIG_FILE_NAME


def find_credentials(explicit: Credentials | None = None) -> Credentials | None:
    """The first AccessKey found: argument, environment, cloud.json; None means unsigned calls
    (a ScribbleSeg server started with --unsigned on loopback takes them)."""
    return explicit or _from_environment() or _from_config_file(config_file())


def _from_environment() -> Credentials | None:
    key_id = os.environ.get(ENV_KEY_ID)
    secret = os.environ.get(ENV_KEY_SECRET)
    if not (key_id and secret):
        return None
    return Credentials(key_id, secret, os.environ.get(ENV_SECURITY_TOKEN) or None)


def _from_config_file(path: Path) -> Credentials | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CloudError(
            "MissingAccessKeyId", f"{path} could not be read: {error.strerror}"
        ) from None
    try:
        data = json.loads(text)
        return Credentials(
            str(data["access_key_id"]), str(data["access_key_secret"]),
            data.get("security_token") or None,
        )
    except (ValueError, KeyError, TypeError):
        # The parse error could quote the secret, so it is not passed on.
        raise CloudError(
            "MissingAccessKeyId",
            f"{path} is not JSON with access_key_id and access_key_secret",
        ) from None
