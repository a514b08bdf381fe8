"""``attractor serve``: the HTTP API, live event streams and web UI of a runs root.

Installed with the ``server`` extra (``pip install 'attractor-plugins[server]'``).
The entry module (:mod:`.plugin`) imports nothing heavy: the web stack loads
only when ``attractor serve`` or ``attractor render`` runs. docs/server.md is
the reference.
"""
