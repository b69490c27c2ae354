"""docker-compose.yml: both profiles parse and say what the issue asks (fast, no Docker needed).

Where Debian's docker-compose is installed, its own `config` check runs on both profiles too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _dockerfile_args() -> set[str]:
    lines = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    return {ln.split()[1].split("=")[0] for ln in lines if ln.startswith("ARG ")}


@pytest.mark.parametrize(("service", "profile"), [("ikar", "cpu"), ("ikar-gpu", "gpu")])
def test_app_services_keep_data_in_the_volume_and_serve_6666(
    compose: dict[str, Any], service: str, profile: str
) -> None:
    svc = compose["services"][service]
    assert svc["profiles"] == [profile]
    assert svc["env_file"] == ".env"
    assert svc["environment"]["IKAR_DATA_DIR"] == "/data"
    assert "ikar-data:/data" in svc["volumes"]
    assert "ikar-data" in compose["volumes"]
    (port,) = svc["ports"]
    # Published on the host's loopback unless the user says otherwise; container port 6666.
    assert port.startswith("${IKAR_PUBLISH_ADDR:-127.0.0.1}:") and port.endswith(":6666")
    assert svc["build"]["context"] == "."


def test_gpu_profile_reserves_the_gpu_and_builds_llama_cpp_with_cuda(
    compose: dict[str, Any],
) -> None:
    svc = compose["services"]["ikar-gpu"]
    (device,) = svc["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    args = svc["build"]["args"]
    assert "-DGGML_CUDA=on" in args["CMAKE_ARGS"].split()
    assert args["REQUIREMENTS"] == "requirements-gpu.txt"
    assert (REPO / args["REQUIREMENTS"]).is_file()
    assert "cuda" in args["WHEEL_IMAGE"] and "devel" in args["WHEEL_IMAGE"]
    assert "cuda" in args["BASE_IMAGE"] and "runtime" in args["BASE_IMAGE"]
    assert set(args) <= _dockerfile_args(), "every build arg must be an ARG in the Dockerfile"
    # The CPU service builds the Dockerfile's defaults: no CUDA there.
    assert "args" not in compose["services"]["ikar"]["build"]


def test_model_server_is_optional_and_private(compose: dict[str, Any]) -> None:
    for name, profile in (("model-server", "server"), ("model-server-gpu", "server-gpu")):
        svc = compose["services"][name]
        assert svc["profiles"] == [profile]
        assert "ports" not in svc, "the model server must not be published on the host"
        command = " ".join(svc["command"])
        assert "llama_cpp.server" in command and "--port 8080" in command
        assert "--n_gpu_layers -1" in command
        assert "8080/v1/models" in " ".join(svc["healthcheck"]["test"])
    gpu = compose["services"]["model-server-gpu"]
    assert gpu["networks"]["default"]["aliases"] == ["model-server"]


def test_compose_profiles_file_adds_the_model_server(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """The image appends docker/model-server.toml to the shipped profiles; compose uses it."""
    from config.settings import CONFIG_DIR
    from models.profiles import load_profiles

    combined = tmp_path / "models-compose.toml"
    combined.write_text(
        (CONFIG_DIR / "models.toml").read_text(encoding="utf-8")
        + (REPO / "docker" / "model-server.toml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    profiles = load_profiles(combined)
    assert profiles["model-server"].url == "http://model-server:8080/v1"
    assert profiles["model-server"].unset_api_key() is None  # private network, no key
    assert {"qwen2.5-coder-1.5b", "smollm2-135m"} <= set(profiles)
    # Native installs do not list a server only compose can reach.
    assert "model-server" not in load_profiles(CONFIG_DIR / "models.toml")
    for service in ("ikar", "ikar-gpu"):
        env = compose["services"][service]["environment"]
        assert env["IKAR_MODEL_PROFILES_FILE"].endswith(":-/opt/ikar/models-compose.toml}")
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert (
        "docker/model-server.toml" in dockerfile and "/opt/ikar/models-compose.toml" in dockerfile
    )


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
@pytest.mark.parametrize("profile", ["cpu", "gpu", "server", "server-gpu"])
def test_docker_compose_accepts_each_profile(tmp_path: Path, profile: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(COMPOSE, project / "docker-compose.yml")
    (project / ".env").write_text("IKAR_DEFAULT_MODEL=smollm2-135m\n", encoding="utf-8")
    proc = subprocess.run(
        ["docker-compose", "--profile", profile, "config"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load(proc.stdout)
    service = {"cpu": "ikar", "gpu": "ikar-gpu"}.get(profile, f"model-{profile}")
    env = resolved["services"][service]["environment"]
    assert env["IKAR_DEFAULT_MODEL"] == "smollm2-135m"  # .env reaches the container
    assert env["IKAR_DATA_DIR"] == "/data"  # and cannot move data out of the volume
