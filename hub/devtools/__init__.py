"""Tools for development and demos: simulated chairs and an embedded broker."""
