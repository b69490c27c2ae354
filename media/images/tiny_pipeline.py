"""A tiny random Stable Diffusion pipeline, built in memory: for tests, benches, GPU smoke runs.

Why: no real diffusion weights ship on PyPI and tests must not download. This builds the
same component types a real SD 1.x folder has (UNet2DConditionModel, AutoencoderKL,
CLIPTextModel, CLIPTokenizer, a scheduler) at toy sizes (6.5 MB saved) with random weights,
so `save_tiny_pipeline(folder)` produces a folder that loads through exactly the code path
users' model folders take (`DiffusersEngine` -> `from_pretrained(folder, local_files_only=True)`).
The images are noise; sizes, steps, seeds, callbacks and devices are real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _tokenizer() -> Any:
    from transformers import CLIPTokenizer

    # A byte-level BPE vocabulary: every printable byte as a word-final symbol and alone,
    # plus specials, so any prompt tokenises (to nonsense, which random weights don't mind).
    symbols = [chr(c) for c in range(33, 127)]
    vocab: dict[str, int] = {}
    for token in ("<|startoftext|>", "<|endoftext|>", "<unk>"):
        vocab[token] = len(vocab)
    for s in symbols:
        vocab.setdefault(s, len(vocab))
        vocab.setdefault(s + "</w>", len(vocab))
    merges: Any = [("t", "h"), ("th", "e</w>")]  # transformers 5 takes (left, right) pairs
    vocab.setdefault("th", len(vocab))
    vocab.setdefault("the</w>", len(vocab))
    specials = {  # CLIP's special tokens (ruff's S106 mistakes "*_token" for passwords)
        "unk_token": "<unk>",
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
    }
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77, **specials)


def build_tiny_pipeline(seed: int = 0) -> Any:
    """A `StableDiffusionPipeline` with toy-sized random components (CPU, fp32)."""
    from media.torch_compat import ensure_torchvision

    ensure_torchvision()
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
        sample_size=64,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            layer_norm_eps=1e-5,
            vocab_size=max(tokenizer.get_vocab().values()) + 1,
            max_position_embeddings=77,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def save_tiny_pipeline(folder: Path, seed: int = 0) -> Path:
    """Build the tiny pipeline and save it as a diffusers folder; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    build_tiny_pipeline(seed).save_pretrained(str(folder))
    return folder
