"""How a module writes its event parameters (``output.*``): format, SCML version, indentation.

Declared beside the writer whose arguments they are; the allowed values come from the formats
and SCML versions the writer knows, so the schema cannot offer one it cannot write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

from ...options import check_declared, opt
from .common import DEFAULT_SCML_VERSION, FORMATS, SCML_VERSIONS


@dataclass
class OutputOptions:
    format: str = opt(
        "scml", "Format of the event parameters written with --ep: SeisComP XML or QuakeML 1.2.",
        values=",".join(FORMATS))
    scml_version: str = opt(
        DEFAULT_SCML_VERSION, "SCML schema version written (0.12 for SeisComP 5, 0.13 for 6, 0.14 for 7).",
        values=",".join(SCML_VERSIONS))
    formatted: bool = opt(False, "Indent the XML output.")

    def __post_init__(self):
        check_declared(self)

    def writer_args(self) -> Dict[str, Any]:
        """Keyword arguments of :func:`~seqt_plugins.io.xml.write_event_parameters` (QuakeML has
        one version: the SCML version is passed for SCML only)."""
        return {"format": self.format, "version": self.scml_version if self.format == "scml" else None,
                "pretty": self.formatted}
