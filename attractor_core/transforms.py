"""Built-in transforms (spec §9.2), registered as an internal plugin."""
