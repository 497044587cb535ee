"""Options of resumable archive reprocessing (``reprocess.*``), declared beside it.

The configuration schema derives the cfg keys and the command line from these fields
(``--reprocess.retries=5``; ``--output-dir``, ``--workers`` and ``--cluster`` set three of them).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..options import check_declared, opt


@dataclass
class ReprocessOptions:
    output_dir: str = opt(
        "seqtpick-reprocess",
        "Archive reprocessing (--stations): one XML file per station-day and the ledger (ledger.sqlite) "
        "that lets a rerun resume where a run stopped.", type="directory")
    shard_length: float = opt(86400.0, "Length of one reprocessing task (a station-day by default).", unit="s",
                              range="60:")
    retries: int = opt(3, "Retries of a failed fetch before the station-day is recorded as failed.", range="0:")
    backoff: float = opt(1.0, "First retry delay; doubled at each retry.", unit="s", range="0:")
    timeout: float = opt(120.0, "Timeout of one request to a record stream server.", unit="s", range="1:")
    workers: int = opt(
        1, "Station-days processed in parallel; more than 1 runs Ray actors (a local Ray instance unless "
        "reprocess.cluster is set).", range="1:")
    cluster: str = opt("", "Ray cluster to join: 'auto' or 'ray://host:port'. Empty: local.")

    def __post_init__(self):
        check_declared(self)

    @property
    def uses_ray(self) -> bool:
        """Whether the tasks run on Ray actors (more than one worker, or a cluster to join)."""
        return self.workers > 1 or bool(self.cluster)
