"""The HTTP API (FastAPI, JSON, ``/v1``): thin, parses, authorises, calls a service, renders."""
