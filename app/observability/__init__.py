"""Structured logs, request ids, metrics and health, as objects the composition root owns."""
