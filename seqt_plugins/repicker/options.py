"""Options of the re-picking engine: one declaration, reused by the configuration schema.

Each field's ``metadata`` carries the description, unit, allowed values and range that the cfg
file, the description XML and the command line (``--repicker.zThreshold=6``) show.
Defaults follow S-EqT's tutorial where it has a value (skip threshold 0.5, exist range 20 s,
search half-widths 6 s / 12 s, keep threshold 0.1 for the Siamese head) and the measurements of
``benchmarks/repick_quality.py`` on the Hengill data elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..options import check_declared, opt


@dataclass
class RepickerOptions:
    mode: str = opt(
        "correlation",
        "Template matching: 'correlation' (enhanced cross-correlation of EqT's latent features, no "
        "weights beyond EqT's) or 'siamese' (the trained S-EqT head, see siameseP/siameseS).",
        values="correlation,siamese",
    )
    model: str = opt("conservative", "EqT weights whose latent features are correlated (S-EqT uses 'conservative').")
    correlation: bool = opt(True, "Search with the templates (correlation or Siamese head).")
    eqt_max: bool = opt(
        True,
        "Complementary path: take EqT's own probability maximum inside the predicted arrival window "
        "when it reaches eqtThreshold (where the template path found nothing).",
    )
    eqt_model: str = opt(
        "both",
        "EqT weights whose probabilities the complementary path reads: 'both' (the picker's default "
        "ensemble, mean of the two published models), 'original', 'conservative' or an .h5 path.")
    eqt_threshold: float = opt(
        0.3, "Minimum EqT probability of the complementary path. Below the picker's own P threshold it "
        "mostly adds wrong picks: at 0.2 it added 1 right and 7 wrong on the labelled arrays with one "
        "station at a time made noisier (benchmarks/accuracy.py --degrade 3,10,30).", range="0:1")
    onset: bool = opt(
        True,
        "Last path, P only: the energy onset inside the predicted arrival window (repicker/onset.py) "
        "where the template and EqT paths found nothing and EqT's detection says an earthquake is "
        "there: clear P arrivals that EqT detects but does not pick (a station without a vertical, "
        "the first seconds of a short event file).")
    onset_threshold: float = opt(
        4.0, "Minimum amplitude ratio of the onset path: 3-20 Hz, vertical, 0.5 s after the onset against "
        "the 2 s before.", range="1:")
    detection_threshold: float = opt(
        0.9, "Minimum EqT detection probability (eqtModel) from 0.5 s before to 2 s after an onset (onset "
        "path): EqT sees an earthquake at the station there though it gave no P. With it (ratio 4) the "
        "re-picker recovered 15 of the picker's misses for 2 wrong on the labelled arrays (10 / 2 without "
        "the onset path) and its Hengill re-picks stayed the same; without it (ratio 8) 12 / 2, and 28 "
        "more re-picks on Hengill with noise added, none at the clean record's picks "
        "(benchmarks/accuracy.py --sets arrays,arrays90,hengill --degrade 3,10,30).", range="0:1")
    z_threshold: float = opt(5.0, "Minimum z-score of the correlation peak for a re-pick (correlation mode).", range="0:")
    z_prominent: float = opt(
        0.0,
        "When above 0 and below zThreshold: a correlation peak that reaches this z-score and stands "
        "'prominence' above the best score elsewhere in the search interval is a re-pick too "
        "(correlation mode). Off by default: at 3.5 it added 1 right and 3 wrong re-picks on the "
        "labelled arrays (benchmarks/accuracy.py).", range="0:")
    siamese_threshold: float = opt(0.1, "Minimum fused probability of the Siamese head (siamese mode).", range="0:1")
    siamese_p: str = opt("", "Weights of the Siamese head's P branch (siamese mode).")
    siamese_s: str = opt("", "Weights of the Siamese head's S branch (siamese mode).")
    template_min_probability: float = opt(
        0.5, "Minimum probability of a pick used as a template (picks without probability count as 1).", range="0:1")
    max_templates: int = opt(5, "Templates per phase and event (the most probable ones).", range="1:")
    phase_only_templates: bool = opt(
        True, "Also use stations with only the searched phase picked, cutting a fixed window around the pick.")
    phase_only_before: float = opt(0.5, "Phase-only template: seconds before the pick.", unit="s", range="0:")
    phase_only_after: float = opt(2.0, "Phase-only template: seconds after the pick.", unit="s", range="0:")
    vp: float = opt(6.0, "P velocity of the geometric search window.", unit="km/s", range="0:")
    vs: float = opt(3.4, "S velocity of the geometric search window.", unit="km/s", range="0:")
    tolerance: float = opt(1.5, "Geometric search window: half-width around the predicted arrival.", unit="s", range="0:")
    tolerance_fraction: float = opt(
        0.1, "Geometric search window: extra half-width as a fraction of the predicted travel time.", range="0:")
    fit_moveout: bool = opt(
        True,
        "Fit each phase's travel times against distance from the origin's own picks (a robust line: "
        "the array's apparent velocity and offset) and place the search windows on it; false: vp/vs "
        "with the picks' median offset. Needs 4 picks of the phase spread over 5 km, and a velocity "
        "within a factor 1.6 of vp/vs. On the labelled arrays: 16 right / 2 wrong re-picks of the picker's "
        "misses against 15 / 2, the same Hengill re-picks and leave-one-out (benchmarks/accuracy.py).")
    max_residual_spread: float = opt(
        1.0,
        "Origins whose own picks scatter more than this (median absolute deviation) around the "
        "predicted arrivals (fitMoveout's line, else vp/vs with the picks' median offset) are not searched.", unit="s", range="0:")
    p_range: float = opt(6.0, "Without station coordinates: search half-width around the template P picks.", unit="s", range="0:")
    s_range: float = opt(12.0, "Without station coordinates: search half-width around the template S picks.", unit="s", range="0:")
    exist_range: float = opt(
        20.0,
        "Without station coordinates: a station is not searched for a phase it has a pick of within this "
        "time of the template picks (with coordinates: within 1 s of the predicted window).", unit="s", range="0:")
    max_distance: float = opt(200.0, "Stations farther from the origin are not searched.", unit="km", range="0:")
    window_step: float = opt(
        30.0, "Window starts are snapped to multiples of this (absolute time), so events close in time share "
        "windows and cached features.", unit="s", range="0.01:60")
    edge: float = opt(2.0, "Re-picks closer than this to a window edge are rejected (tutorial: 2 s).", unit="s", range="0:")
    cache_size: int = opt(
        128, "Windows whose latent features are kept (LRU; about 1.4 MB each; windows no later origin of the "
        "run needs leave at once). 128 keeps seqt-catalog and seqtrepick under 1.5 GB on a 20-station array "
        "(benchmarks/memory.py); 64 to 256 gave the same re-picks there.", range="0:")
    batch_size: int = opt(32, "Windows per EqT call.", range="1:1024")
    divide_by_length: bool = opt(
        True, "Divide the enhanced template by its length (S-EqT training); false as tutorial_02.")
    max_gap: float = opt(5.0, "Gaps up to this length are interpolated; longer gaps split the stream.", unit="s", range="0:")
    min_length: float = opt(
        30.0,
        "A station's data segment (its record in a short event file, or data between gaps) shorter than one 60-s "
        "window but at least this long is zero-padded after its end to one window, as picker.minLength does: its "
        "picks can be templates and it is searched up to 'edge' before its end; its feature maps are scaled, and "
        "the correlation's z-score taken, over its real samples only. Shorter segments are not used. 40-s event "
        "files of the labelled arrays: 2 of the picker's misses re-picked as recorded, none wrong; before, "
        "none searched (benchmarks/accuracy.py --sets arrays40).",
        unit="s", range="1:60")

    def validate(self) -> None:
        check_declared(self)  # values and ranges as declared above (as the config checks)
        if self.vp <= 0 or self.vs <= 0:
            raise ValueError("vp and vs must be positive")
        if not 0 < self.window_step <= 60:
            raise ValueError("window_step must be in (0, 60] s")
