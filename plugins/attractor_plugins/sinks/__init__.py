"""Event sinks."""
