"""The core: the service that owns every desk, split by job, and the pure sitting rules."""
