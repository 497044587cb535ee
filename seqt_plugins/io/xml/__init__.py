"""Pick exchange with the host: SeisComP XML (SCML 0.11-0.14) and QuakeML 1.2.

Public API::

    read_event_parameters(path_or_fileobj) -> EventParameters    # auto-detects format/version
    iter_picks(path_or_fileobj) -> Iterator[Pick]                  # streaming, bounded memory
    iter_amplitudes(path_or_fileobj) -> Iterator[Amplitude]        # the same for amplitudes
    write_event_parameters(ep, path_or_fileobj, format="scml", version="0.13", pretty=True)
    EventParametersWriter(path_or_fileobj, format, version)       # .add_pick/.add_amplitude/...
    validate(path_or_bytes, format, version) -> None              # XSDs installed with obspy
    XMLInputError(ValueError)                                     # str: "<file>:<line>: <what>"
    to_obspy(ep) -> obspy Catalog; from_obspy(catalog) -> EventParameters   # see .obspy_events

Fields the schemas lack travel as comments: ``Pick.probability`` (id ``probability``) and
``Pick.reference_pick_id`` (id ``referencePickID``).  See :mod:`.scml` and :mod:`.quakeml` for
the layout and ID conventions of each format.
"""

from .common import (
    DEFAULT_SCML_VERSION,
    SCML_NAMESPACES,
    SCML_VERSIONS,
    XMLInputError,
    XMLValidationError,
    from_quakeml_id,
    parse_format,
    to_quakeml_id,
)
from .obspy_events import from_obspy, to_obspy
from .reader import detect_format, iter_amplitudes, iter_picks, read_event_parameters
from .validate import schema_path, validate
from .writer import EventParametersWriter, write_event_parameters

__all__ = [
    "DEFAULT_SCML_VERSION",
    "SCML_NAMESPACES",
    "SCML_VERSIONS",
    "EventParametersWriter",
    "XMLInputError",
    "XMLValidationError",
    "detect_format",
    "from_obspy",
    "from_quakeml_id",
    "iter_amplitudes",
    "iter_picks",
    "parse_format",
    "read_event_parameters",
    "schema_path",
    "to_obspy",
    "to_quakeml_id",
    "validate",
    "write_event_parameters",
]
