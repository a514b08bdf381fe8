"""Parallel branches on a Dask cluster: ``--executor dask://HOST:PORT`` and
``--executor dask-local:N`` (docs/distributed.md). Needs ``attractor-plugins[dask]``."""
