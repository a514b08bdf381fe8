"""Built-in lint rules (spec §7.2), registered as an internal plugin."""
