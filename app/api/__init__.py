"""REST API: routers that translate HTTP to service calls."""
