"""Gradio Blocks UI: tabs that translate UI events to service calls."""
