"""Real servers that tests start and stop themselves (PostgreSQL, S3 API, ...)."""
