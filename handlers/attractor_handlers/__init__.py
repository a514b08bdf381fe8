"""Built-in node handlers for attractor."""
