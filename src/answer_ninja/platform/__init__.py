"""Cross-cutting infrastructure: settings, logging, storage, cache and the service app factory."""
