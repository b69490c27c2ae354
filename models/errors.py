"""Errors the inference layer raises, each with its code, HTTP status and message key.

They are `IkarError`s (config/errors.py), so the API and the UI report them like every other
failure; the message keys live in the one catalogue (app/locales/core.py).
"""

from config.errors import IkarError


class LLMError(IkarError):
    """Base class: something went wrong talking to a model."""

    code = "llm_error"
    status_code = 502
    key = "error.llm_failed"


class ModelUnavailableError(LLMError):
    """The model file is missing, corrupt or cannot be loaded (HTTP 503)."""

    code = "model_unavailable"
    status_code = 503
    key = "error.model_unavailable"


class LLMTimeoutError(LLMError):
    """The backend did not answer within the profile's `timeout_s` (HTTP 504)."""

    code = "timeout"
    status_code = 504
    key = "error.llm_timeout"


class PromptTooLongError(LLMError):
    """The prompt does not fit into the model's context even after trimming (HTTP 413)."""

    code = "prompt_too_long"
    status_code = 413
    key = "error.prompt_too_long"


class GenerationCancelledError(LLMError):
    """The caller cancelled the generation (stop button, client disconnect)."""

    code = "cancelled"
    status_code = 409
    key = "error.cancelled"
