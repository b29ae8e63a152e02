"""The HTTP edge: FastAPI app, routes and request/response schemas. Services never import this."""
