"""Starting the engine host from an editor: the user hears that it is starting, and a broken or
hanging engine says which interpreter, what it said, and what to do (scribbleseg_editor.host)."""

from __future__ import annotations

import pytest

from scribbleseg_editor import host
from scribbleseg_editor.errors import ScribbleSegError


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """An engine interpreter that is a shell script: write its body, get its path."""
    monkeypatch.setenv("SCRIBBLESEG_RUNTIME_DIR", str(tmp_path / "run"))
    python = tmp_path / "engine" / "bin" / "python3"
    python.parent.mkdir(parents=True)

    def make(body: str) -> str:
        python.write_text(f"#!/bin/sh\n{body}\n")
        python.chmod(0o755)
        monkeypatch.setenv("SCRIBBLESEG_PYTHON", str(python))
        return str(python)
    return make


def start(heard: list[str]) -> str:
    with pytest.raises(ScribbleSegError) as refused:
        host.ensure_host(heard.append)
    return refused.value.message


def test_a_broken_engine_names_the_interpreter_what_it_said_and_how_to_reinstall(engine):
    python = engine("echo 'No module named scribbleseg' >&2; exit 1")
    heard: list[str] = []
    message = start(heard)
    assert heard == [host.STARTING]
    assert python in message and "No module named scribbleseg" in message
    assert "build.py install" in message


def test_a_hanging_engine_times_out_after_the_manifests_wait(engine, monkeypatch):
    engine("exec sleep 30")
    monkeypatch.setattr(host, "load_manifest", lambda: {"engine": {
        "start_timeout_seconds": 1, "idle_exit_minutes": 1}})
    message = start([])
    assert "did not start in 1 s" in message and "build.py install" in message
