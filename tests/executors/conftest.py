"""The module-scoped Dask cluster of test_dask_executor, for every module here (each
module that uses it gets a cluster of its own, started once). Without ``distributed``
installed there is none, and those modules skip themselves."""

import importlib.util

if importlib.util.find_spec("distributed") is not None:
    from tests.executors.test_dask_executor import cluster

    __all__ = ["cluster"]
