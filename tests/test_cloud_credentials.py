"""Where the cloud client finds its AccessKey: argument, environment, then cloud.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scribbleseg.cloud import CloudError, Credentials
from scribbleseg.cloud.credentials import find_credentials


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty settings folder and no key in the environment."""
    monkeypatch.setenv("SCRIBBLESEG_CONFIG_DIR", str(tmp_path))
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                 "ALIBABA_CLOUD_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _write_config(folder: Path, data: object) -> None:
    (folder / "cloud.json").write_text(json.dumps(data))


def test_nothing_configured_means_unsigned(settings: Path) -> None:
    assert find_credentials() is None


def test_config_file_is_read(settings: Path) -> None:
    _write_config(settings, {"access_key_id": "file-id", "access_key_secret": "file-secret"})
    assert find_credentials() == Credentials("file-id", "file-secret")


def test_environment_beats_the_file(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(settings, {"access_key_id": "file-id", "access_key_secret": "file-secret"})
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token")
    assert find_credentials() == Credentials("env-id", "env-secret", "env-token")


def test_argument_beats_the_environment(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    assert find_credentials(Credentials("arg-id", "arg-secret")).access_key_id == "arg-id"


def test_a_broken_file_is_a_clear_error_that_does_not_quote_it(settings: Path) -> None:
    (settings / "cloud.json").write_text('{"access_key_id": "id", "access_key_secret": "s3cr')
    with pytest.raises(CloudError) as caught:
        find_credentials()
    assert "cloud.json" in caught.value.message
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in caught.value.message  # what to do instead
    assert "s3cr" not in str(caught.value)


def test_the_secret_stays_out_of_repr() -> None:
    text = repr(Credentials("visible-id", "hidden-secret", "hidden-token"))
    assert "visible-id" in text and "hidden" not in text
