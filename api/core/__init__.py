"""Infrastructure of the service: configuration, database, Redis, auth, errors, logging, metrics."""
