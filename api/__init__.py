"""The cmo-agent REST service (FastAPI): jobs, artifacts, engagement analytics, health and metrics.

`api.app.create_app` is the uvicorn factory behind `cmo serve`; `api.services.worker` runs the jobs.
"""
