"""The ``attractor`` command-line interface."""
