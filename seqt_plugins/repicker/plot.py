"""Record sections of re-picked origins: one PNG per origin (``seqtrepick --plot``).

    from seqt_plugins.repicker.plot import plot_origins
    paths = plot_origins(event_parameters, stream, repicker.last_results, "plots/")

The drawing is :func:`seqt_plugins.plotbase.plot_record_section`, shared with the catalog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..plotbase import plot_record_section, safe_name


def plot_repicks(event_parameters, stream, out_dir, results: Optional[Sequence] = None,
                 coordinates: Optional[Dict[str, Tuple[float, float, float]]] = None, inventory=None,
                 only_repicked: bool = False, **kwargs) -> List[Path]:
    """One record-section PNG per origin re-picked into ``out_dir``; returns the paths.

    The origins are those the re-picker processes (preferred origin of each event); with
    ``results`` (``Repicker.last_results``) and ``only_repicked`` only those with a re-pick.
    ``inventory`` or ``coordinates`` give the stations' distances; ``kwargs`` go to
    :func:`plot_record_section`.
    """
    from ..geo import coordinates_from_inventory
    from .engine import Repicker

    coords = dict(coordinates or {})
    if inventory is not None:
        coords.update(coordinates_from_inventory(inventory))
    picks = {p.public_id: p for p in event_parameters.picks}
    with_results = {r.origin_id for r in results or []}
    out = []
    for origin in Repicker.origins_to_process(event_parameters):
        if only_repicked and origin.public_id not in with_results:
            continue
        path = Path(out_dir) / f"{safe_name(origin.public_id)}.png"
        out.append(plot_record_section(path, stream, origin, picks, coords, **kwargs))
    return out


def plot_origins(event_parameters, stream, results: Optional[Sequence], directory, **kwargs) -> List[Path]:
    """``seqtrepick --plot``: :func:`plot_repicks` with the re-picker's results."""
    return plot_repicks(event_parameters, stream, directory, results=results, **kwargs)
