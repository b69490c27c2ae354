"""Errors the inference layer raises; the API maps each to a status code and a clear message."""


class LLMError(Exception):
    """Base class: something went wrong talking to a model."""


class ModelUnavailableError(LLMError):
    """The model file is missing, corrupt or cannot be loaded (HTTP 503)."""


class LLMTimeoutError(LLMError):
    """The backend did not answer within the profile's `timeout_s` (HTTP 504)."""


class PromptTooLongError(LLMError):
    """The prompt does not fit into the model's context even after trimming (HTTP 413)."""


class GenerationCancelledError(LLMError):
    """The caller cancelled the generation (stop button, client disconnect)."""
