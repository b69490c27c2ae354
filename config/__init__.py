"""Configuration: `Settings` (pydantic-settings, env prefix IKAR_), model profiles, prompts."""
