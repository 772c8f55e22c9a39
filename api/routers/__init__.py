"""One FastAPI router per resource; routers parse and answer, `api.services` does the work."""
