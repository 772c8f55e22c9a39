"""Pydantic request and response schemas of the REST API, kept apart from the ORM tables."""
