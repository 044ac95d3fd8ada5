"""The HTTP server of ``connector serve`` (FastAPI): webhooks, first-party events, health, metrics."""
