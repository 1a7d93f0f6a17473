"""Singer target that creates or updates Gather records through the Records API."""
