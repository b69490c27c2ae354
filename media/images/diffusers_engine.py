"""diffusers text-to-image from a local model folder: CUDA fp16 when present, else CPU fp32.

Why local folders only by default: IKAR runs offline and must never start a multi-GB
download because a config named a hub id; `allow_network` opts in. Real Stable Diffusion is
slow on a laptop CPU (minutes per image), so the image queue runs one job at a time, reports
progress per step, and can be cancelled between steps.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import secrets
import threading
from pathlib import Path
from typing import Any

from media.config import ImageConfig
from media.errors import EngineUnavailableError, JobCancelledError, MediaInputError
from media.images.base import ImageParams, StepCallback
from media.lazy import EngineStatus, LazyModel
from media.torch_compat import cap_torch_threads, ensure_torchvision


class DiffusersEngine:
    """One diffusers pipeline, loaded lazily; generation is serialised by a lock."""

    name = "diffusers"

    def __init__(self, config: ImageConfig, torch_threads: int = 1) -> None:
        self.config = config
        self._torch_threads = torch_threads
        self._lazy: LazyModel[Any] = LazyModel(
            "image", self._load, idle_unload_s=config.idle_unload_s, closer=self._close
        )
        self._run_lock = threading.Lock()  # a pipeline object is not re-entrant
        self._fingerprint: dict[str, Any] | None = None
        self.device: str | None = None
        self.dtype: str | None = None

    # -- loading -------------------------------------------------------------------------

    def _source(self) -> tuple[str, bool]:
        """(what to pass to from_pretrained, local_files_only)."""
        model = self.config.model
        if not model:
            raise EngineUnavailableError(
                "image generation is not configured: set media.image.model to a local "
                "diffusers model folder"
            )
        path = Path(model).expanduser()
        if path.is_dir():
            if not (path / "model_index.json").is_file():
                raise EngineUnavailableError(
                    f"{path} is not a diffusers model folder (no model_index.json)"
                )
            return str(path), True
        if self.config.allow_network:
            return model, False
        raise EngineUnavailableError(
            f"image model folder {model!r} does not exist; put a diffusers folder there "
            "(network downloads are off: media.image.allow_network)"
        )

    def _pick_device(self) -> tuple[str, Any]:
        import torch

        wants_cuda = self.config.device == "cuda" or (
            self.config.device == "auto" and torch.cuda.is_available()
        )
        if wants_cuda and not torch.cuda.is_available():
            raise EngineUnavailableError("media.image.device is 'cuda' but CUDA is unavailable")
        return ("cuda", torch.float16) if wants_cuda else ("cpu", torch.float32)

    def _load(self) -> Any:
        self._fingerprint = None  # the folder may have changed since the last load
        source, local_only = self._source()
        ensure_torchvision()
        cap_torch_threads(self._torch_threads)
        from diffusers import DiffusionPipeline

        device, dtype = self._pick_device()
        pipe = DiffusionPipeline.from_pretrained(source, local_files_only=local_only, dtype=dtype)
        pipe = pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        self.device, self.dtype = device, str(dtype).removeprefix("torch.")
        return pipe

    def _close(self, pipe: Any) -> None:
        del pipe
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    # -- generation ----------------------------------------------------------------------

    def resolve(self, params: ImageParams) -> ImageParams:
        """Fill defaults (a random seed included) and check the limits."""
        c = self.config
        prompt = params.prompt.strip()
        if not prompt:
            raise MediaInputError("the image prompt is empty")
        if len(prompt) > c.max_prompt_chars:
            raise MediaInputError(f"the prompt is longer than {c.max_prompt_chars} characters")
        width = params.width or c.default_width
        height = params.height or c.default_height
        for label, value, cap in (("width", width, c.max_width), ("height", height, c.max_height)):
            if value % 8:
                raise MediaInputError(f"{label} must be a multiple of 8 (got {value})")
            if not 64 <= value <= cap:
                raise MediaInputError(f"{label} must be between 64 and {cap} (got {value})")
        steps = params.steps or c.default_steps
        if steps > c.max_steps:
            raise MediaInputError(f"steps must be at most {c.max_steps} (got {steps})")
        return ImageParams(
            prompt=prompt,
            negative_prompt=(params.negative_prompt or "").strip() or None,
            width=width,
            height=height,
            steps=steps,
            guidance=c.default_guidance if params.guidance is None else params.guidance,
            seed=secrets.randbelow(2**32) if params.seed is None else params.seed,
        )

    def generate(
        self,
        params: ImageParams,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> bytes:
        """Draw one image and return it as PNG bytes."""
        import torch

        p = self.resolve(params)
        assert p.steps is not None and p.seed is not None

        def step_end(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> Any:
            if cancel is not None and cancel.is_set():
                raise JobCancelledError("image generation was cancelled")
            if on_step is not None:
                on_step(step + 1, int(p.steps or 1))
            return kwargs

        with self._lazy.use() as pipe, self._run_lock:
            if cancel is not None and cancel.is_set():
                raise JobCancelledError("image generation was cancelled")
            generator = torch.Generator(device=self.device or "cpu").manual_seed(p.seed)
            with torch.inference_mode():
                result = pipe(
                    prompt=p.prompt,
                    negative_prompt=p.negative_prompt,
                    width=p.width,
                    height=p.height,
                    num_inference_steps=p.steps,
                    guidance_scale=p.guidance,
                    generator=generator,
                    callback_on_step_end=step_end,
                    output_type="pil",
                )
        image = result.images[0]
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()

    def cache_inputs(self, params: ImageParams) -> dict[str, Any]:
        """Resolved params (the seed fixed) + the model's fingerprint + device and dtype."""
        p = self.resolve(params)
        device, dtype = self._pick_device()
        return {
            "engine": self.name,
            "model": self._model_fingerprint(),
            "device": device,
            "dtype": str(dtype),
            "params": p.model_dump(),
        }

    def _model_fingerprint(self) -> dict[str, Any]:
        """Identity of the model without hashing gigabytes: every file's name, size, mtime."""
        if self._fingerprint is None:
            source, local = self._source()
            files: list[Any] = []
            if local:
                root = Path(source)
                for f in sorted(root.rglob("*")):
                    if f.is_file():
                        st = f.stat()
                        files.append([str(f.relative_to(root)), st.st_size, st.st_mtime_ns])
                index = json.loads((root / "model_index.json").read_text(encoding="utf-8"))
            else:
                index = {}
            versions = {}
            for dist in ("diffusers", "torch", "transformers"):
                try:
                    versions[dist] = importlib.metadata.version(dist)
                except importlib.metadata.PackageNotFoundError:
                    versions[dist] = "missing"
            self._fingerprint = {
                "source": source,
                "index": index,
                "files": files,
                "versions": versions,
            }
        return self._fingerprint

    def status(self) -> EngineStatus:
        status = self._lazy.status(self.name, self.config.model)
        if status.state == "unloaded" and not self.config.model:
            return status.model_copy(update={"detail": "not configured (media.image.model)"})
        if status.state == "ready":
            return status.model_copy(update={"detail": f"{self.device} {self.dtype}"})
        return status

    def unload(self) -> None:
        self._lazy.unload()
