"""The door to :mod:`.cluster`, which imports dask.distributed: only this function imports
it, when a cluster is asked for, so the spec and the widgets never load dask."""

from __future__ import annotations

from .errors import ClusterError

#: what ``--dask``, ``client=`` and the widgets' cluster field take
CLUSTER_HELP = ("local (a cluster of this machine's cores), local:N (N worker processes) or a "
                "running scheduler's address, such as tcp://host:8786")


def cluster_backend():
    """``core.cluster``, imported now; a :class:`ClusterError` that says how to install
    dask.distributed if it is missing."""
    try:
        from . import cluster
    except ImportError as error:
        if (error.name or "").partition(".")[0] not in ("distributed", "dask"):
            raise
        raise ClusterError("running on a dask cluster needs dask.distributed: pip install "
                           "'napari-neural-style[cluster]'") from None
    return cluster


def tiles_ran_on(client) -> str:
    """Where a tiled run's tiles ran, for its record: this process, or ``client``'s
    cluster."""
    return "this process" if client is None else f"dask cluster {client.scheduler.address}"
