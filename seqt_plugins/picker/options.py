"""Options of the picking engine: one declaration, reused by the configuration schema.

Each field's ``metadata`` carries the description and unit that the cfg file, the
description XML and the command line show (see ``seqt_plugins.config``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..options import opt


@dataclass
class PickerOptions:
    # Defaults chosen by benchmarks/pick_quality.py (single_station and hengill figures, see the
    # README): both models averaged beat either alone on P recall, false P picks and P timing.
    model: str = opt(
        "both",
        "EqT weights: 'original', 'conservative', 'both' (the two published models combined, see "
        "'ensemble') or the path of an .h5 file.",
    )
    detection_threshold: float = opt(0.3, "Detection probability that opens an event.", range="0:1")
    p_threshold: float = opt(0.3, "Minimum P probability of a pick.", range="0:1")
    p_detection_threshold: float = opt(
        0.0,
        "A P pick also needs the detection probability to reach this in its event (no effect at or below "
        "detectionThreshold). Off by default: on the labelled records, 0.5 with pThreshold 0.2 gave 19 more "
        "correct P for 3 more wrong (the conservative model often gives a clear P near zero where the "
        "original gives 0.5 and the detection is 1), but on Hengill with noise added (SNR/3, /10) the "
        "associator then located 1 event instead of 4 and 5: small events' P picks sit in weak detections "
        "(benchmarks/accuracy.py --curve; --sets hengill).", range="0:1")
    strong_p_factor: float = opt(
        0.5,
        "Inside a detection that reaches strongDetection the P threshold is pThreshold times this (1: off; "
        "pThreshold 1 still picks no P): where EqT is sure an earthquake is at the station, a weaker P peak "
        "still marks its onset. At 0.5 (P 0.15 there) against 1, over the labelled arrays, their 90-s and 40-s "
        "event files and the single-station 90-s, 60-s and 30-s records, each as recorded and at SNR/3 and /10: "
        "26 more correct P for 8 more wrong (never fewer correct), P recall on the arrays 0.885/0.788/0.596 -> "
        "0.923/0.846/0.596, no more noise records with a pick, the same Hengill association; with "
        "strongDetection 0.9: 32 more for 13 more wrong (benchmarks/accuracy.py).",
        range="0:1")
    strong_detection: float = opt(
        0.95, "Detection probability from which strongPFactor applies to the P peaks of the event.", range="0:1")
    s_threshold: float = opt(0.1, "Minimum S probability of a pick.", range="0:1")
    overlap: float = opt(0.5, "Overlap of consecutive 60 s windows, as a fraction of the window.", range="0:0.95")
    stacking: str = opt("max", "How overlapping window outputs are combined.", values="max,mean")
    blinding: float = opt(5.0, "Seconds blinded at each window edge before stacking.", unit="s", range="0:30")
    start_blinding: float = opt(
        11.0,
        "Seconds blinded at each window's start (at least 'blinding'), where another window covers them. "
        "The original EqT model puts spurious P peaks at whole seconds 4-11 s into a window (in the golden "
        "reference outputs too; up to 0.5 on pure noise), which snapped weak picks to whole seconds and "
        "added false P picks: 11 s took P precision on the labelled arrays at SNR/3 from 0.860 to 0.932 "
        "(benchmarks/accuracy.py). A record's first window keeps its start.",
        unit="s", range="0:30")
    start_twin: float = opt(
        0.5,
        "A segment's first seconds (before the next window's blinded start; all of a record one window "
        "long) are seen by its first window alone; a second window starting this much later is averaged "
        "in there (0: off). Its spurious whole-second peaks fall elsewhere: on the labelled arrays cut to "
        "90-s event files P precision went from 0.923/0.900/0.826 to 1.000/0.939/0.905 (as recorded, "
        "SNR/3, SNR/10) for no loss of recall (benchmarks/accuracy.py).",
        unit="s", range="0:10")
    edge_padding: float = opt(
        0.0,
        "Windows also reach this far beyond the end of a record or data segment, zero-filled there, so an "
        "arrival in its last seconds sits early in some window (EqT finds arrivals late in a window poorly). "
        "Off by default: on the labelled records it doubled the false picks near record ends.",
        unit="s", range="0:60")
    min_length: float = opt(
        30.0,
        "Data segments (a record, or data between gaps) shorter than one 60-s window but at least this long "
        "are zero-padded after their end to one window and picked (no pick in the padding); shorter ones are "
        "skipped (60: every segment shorter than a window). Single-station records cut to 30 s (P 3-10 s in): "
        "P recall 0.994 as recorded and 0.825 at SNR/3, against 0.987 and 0.812 for records of one full "
        "window; 30 s of pure noise gets a false pick more often (29 of 154 records against 13) "
        "(benchmarks/accuracy.py --sets short,shortnoise,window,noise).",
        unit="s", range="1:60")
    batch_size: int = opt(64, "Windows per model call.", range="1:1024")
    max_gap: float = opt(5.0, "Gaps up to this length are interpolated; longer gaps split the stream.", unit="s", range="0:")
    min_separation: float = opt(2.0, "Picks of one phase on one station closer than this are merged.", unit="s", range="0:")
    mc_passes: int = opt(0, "Monte-Carlo dropout passes for pick uncertainty (0: deterministic).", range="0:1000")
    ensemble: str = opt("mean", "How the two models' probabilities are combined when model is 'both'.", values="mean,max")
    margin: float = opt(
        150.0,
        "Data needed before and after a time span so that picking the span alone gives the same picks as "
        "picking a longer stream that contains it (window length, filter settling and event length).",
        unit="s",
        range="0:86400",
    )
    chunk_length: float = opt(
        10800.0,
        "Streams longer than this are picked in pieces of this length (each read with 'margin' on both "
        "sides, so the picks equal those of one whole run) to bound memory; 0 picks every stream whole.",
        unit="s",
        range="0:",
    )
    precision: str = opt(
        "float32",
        "Arithmetic of EqT: float32 (exact published model) or int8 (TensorFlow Lite, dynamic-range int8: "
        "1.1-1.6x faster, but it lost 2 of 52 P picks on the labelled arrays; not recommended, see the "
        "README). bfloat16 was dropped: 0.99-1.07x on the CPU measured, for outputs moved by up to 0.03.",
        values="float32,int8",
    )
