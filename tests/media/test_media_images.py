"""diffusers through `DiffusersEngine`, loading the tiny random pipeline from a saved folder."""

from __future__ import annotations

import io

import pytest

from media.config import ImageConfig
from media.errors import EngineUnavailableError, JobCancelledError, MediaInputError
from media.images.base import ImageParams
from media.images.diffusers_engine import DiffusersEngine

pytestmark = pytest.mark.slow


def _size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG"
        return img.size


def test_makes_an_image_of_the_asked_size_with_progress_per_step(image_engine) -> None:  # type: ignore[no-untyped-def]
    steps: list[tuple[int, int]] = []
    png = image_engine.generate(
        ImageParams(prompt="a red fox", width=96, height=64, steps=3, seed=1),
        on_step=lambda done, total: steps.append((done, total)),
    )
    assert _size(png) == (96, 64)
    assert steps == [(1, 3), (2, 3), (3, 3)]
    status = image_engine.status()
    assert status.state == "ready" and status.detail == "cpu float32"


def test_same_seed_same_image_other_seed_other_image(image_engine) -> None:  # type: ignore[no-untyped-def]
    params = ImageParams(prompt="a lighthouse", steps=2, seed=5)
    assert image_engine.generate(params) == image_engine.generate(params)
    assert image_engine.generate(params) != image_engine.generate(
        params.model_copy(update={"seed": 6})
    )


def test_cancellation_between_steps(image_engine) -> None:  # type: ignore[no-untyped-def]
    import threading

    cancel = threading.Event()
    seen: list[int] = []

    def on_step(done: int, total: int) -> None:
        seen.append(done)
        cancel.set()

    with pytest.raises(JobCancelledError):
        image_engine.generate(
            ImageParams(prompt="x", steps=5, seed=1), on_step=on_step, cancel=cancel
        )
    assert seen == [1]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"width": 100}, "multiple of 8"),
        ({"height": 2048}, "between 64 and 1024"),
        ({"width": 32}, "between 64"),
        ({"steps": 500}, "at most"),
        ({"prompt": "   "}, "empty"),
    ],
)
def test_invalid_parameters_are_refused(
    image_engine, params: dict[str, object], message: str
) -> None:  # type: ignore[no-untyped-def]
    base: dict[str, object] = {"prompt": "x"} | params
    with pytest.raises(MediaInputError, match=message):
        image_engine.resolve(ImageParams.model_validate(base))


def test_resolve_fills_defaults_and_a_random_seed(image_engine) -> None:  # type: ignore[no-untyped-def]
    p = image_engine.resolve(ImageParams(prompt=" cat "))
    assert (p.prompt, p.width, p.height) == ("cat", 64, 64)
    assert p.seed is not None and p.steps is not None


def test_unconfigured_or_missing_model_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EngineUnavailableError, match="not configured"):
        DiffusersEngine(ImageConfig()).generate(ImageParams(prompt="x", width=64, height=64))
    missing = DiffusersEngine(ImageConfig(model="some-org/some-model"))
    with pytest.raises(EngineUnavailableError, match="network downloads are off"):
        missing.generate(ImageParams(prompt="x", width=64, height=64))
    (tmp_path / "notamodel").mkdir()
    with pytest.raises(EngineUnavailableError, match=r"model_index\.json"):
        DiffusersEngine(ImageConfig(model=str(tmp_path / "notamodel"))).generate(
            ImageParams(prompt="x", width=64, height=64)
        )
