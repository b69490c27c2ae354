"""IKAR application: composition root, REST API, Gradio UI, services and storage."""
