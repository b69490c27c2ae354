"""Inference layer: chat backends behind one `LLMBackend` protocol, chosen by model profile."""
