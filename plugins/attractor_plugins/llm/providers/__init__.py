"""Provider adapters, one module per native wire protocol."""
