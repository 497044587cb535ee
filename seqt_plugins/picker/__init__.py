"""The picking engine: any ObsPy Stream in, EqT probability traces and pick objects out.

Folders follow the data: ``prepare`` (stations, components, gaps, 100 Hz, filter) →
``windows`` (time-anchored windows, normalisation, batches) → the EqT model →
``stack`` (blinding, max/mean) → ``triggers`` (detections, P/S picks) → ``engine`` (``Picker``).
"""

from .engine import METHOD_ID, Picker, StationDetection, amplitudes_of  # noqa: F401
from .options import PickerOptions  # noqa: F401
from .prepare import PrepareError, read_waveforms  # noqa: F401
