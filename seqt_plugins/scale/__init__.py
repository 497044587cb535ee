"""Scaling out: station-day ledger for resumable, crash-safe archive reprocessing."""

from .ledger import Ledger, StationDay, file_sha256, station_days

__all__ = ["Ledger", "StationDay", "file_sha256", "station_days"]
