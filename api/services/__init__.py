"""Behaviour of the service (jobs, queue, artifacts, analytics, tenants), independent of HTTP."""
