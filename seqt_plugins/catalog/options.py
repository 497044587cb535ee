"""Options of the association step: one declaration, reused by the configuration schema
(``--associator.nPicks=6``); metadata as in :mod:`seqt_plugins.picker.options`.

Defaults were chosen on the Hengill data (20 stations over about 20 × 20 km, see
``benchmarks/catalog_hengill.py``): a dense local network, so the search area is the stations'
bounding box plus ``margin``, the octree stops at ``minNodeSize`` km and an event needs
``nPicks`` picks with ``nPPicks`` P.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..options import opt


@dataclass
class AssociatorOptions:
    velocity_model: str = opt(
        "",
        "1-D layered velocity model file (columns: layer top depth in km, negative above sea level, Vp, "
        "Vp gradient, Vs, Vs gradient, optional density and its gradient; # starts a comment), or a "
        "NonLinLoc control file, whose LAYER statements have the same columns. Empty: constant "
        "velocities vp and vs.")
    vp: float = opt(6.0, "P velocity used without a velocity model file.", unit="km/s", range="0:")
    vs: float = opt(3.4, "S velocity used without a velocity model file.", unit="km/s", range="0:")
    tolerance: float = opt(1.0, "Travel-time tolerance of the velocity model.", unit="s", range="0:")
    grid_spacing: float = opt(0.1, "Grid spacing of the 1-D model's travel-time table.", unit="km", range="0.01:")
    cache_dir: str = opt("", "Directory of the cached travel-time tables (empty: $SEQT_CACHE_DIR/pyocto, "
                             "else ~/.cache/seqt-plugins/pyocto).")
    margin: float = opt(10.0, "Search area: the stations' bounding box extended by this distance.", unit="km", range="0:")
    min_depth: float = opt(0.0, "Shallowest event depth searched (below sea level).", unit="km", range="0:")
    max_depth: float = opt(20.0, "Deepest event depth searched.", unit="km", range="0:")
    time_before: float = opt(
        0.0, "Time before a pick searched for its origin; 0: the S travel time across the search area.",
        unit="s", range="0:")
    min_node_size: float = opt(2.0, "Smallest octree node of the association search.", unit="km", range="0:")
    min_node_size_location: float = opt(0.5, "Smallest node of the location search.", unit="km", range="0:")
    pick_match_tolerance: float = opt(1.5, "Maximum residual of a pick matched to a located event.", unit="s", range="0:")
    min_interevent_time: float = opt(2.0, "Events closer in origin time are not both kept.", unit="s", range="0:")
    n_picks: int = opt(6, "Minimum number of picks of an event.", range="1:")
    n_p_picks: int = opt(3, "Minimum number of P picks of an event.", range="0:")
    n_s_picks: int = opt(2, "Minimum number of S picks of an event.", range="0:")
    n_p_and_s_picks: int = opt(2, "Minimum number of stations with both a P and an S pick.", range="0:")
    min_pick_fraction: float = opt(
        0.25, "A station's picks are dropped when fewer than this fraction of the closer stations have a pick.",
        range="0:1")
    threads: int = opt(0, "Associator threads (0: one per core).", range="0:")

    def validate(self) -> None:
        if self.vp <= 0 or self.vs <= 0:
            raise ValueError("vp and vs must be positive")
        if self.max_depth <= self.min_depth:
            raise ValueError("max_depth must be larger than min_depth")
        if self.grid_spacing <= 0:
            raise ValueError("grid_spacing must be positive")
        for name in ("n_picks", "n_p_picks", "n_s_picks", "n_p_and_s_picks", "threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
