"""Stream preparation: from any ObsPy Stream to per-station, gap-free 100 Hz segments.

Steps, per station (network, station, location):

1. leave out streams recorded slower than ``MIN_SAMPLING_RATE`` (10 Hz: long-period and
   state-of-health channels, without EqT's band), then choose one instrument (band + instrument
   code) that has a vertical channel (``instrument_rank``: one that covers EqT's band, a
   seismometer before a geophone before an accelerometer); a station without Z is picked on its
   horizontals, one with neither is skipped, both with a warning;
2. map components: Z/N/E, Z/1/2 (1 → N, 2 → E), Z/2/3 (2 → N, 3 → E); with an inventory,
   non-nominal orientations are rotated to Z/N/E (``obspy.signal.rotate.rotate2zne``);
3. per component: merge traces on one sample grid (later data win on overlaps; where the
   sampling rate changes within the data, the other rates' traces are resampled to the main
   one first, so a station reconfigured mid-day is picked over the whole day); NaN/inf and
   masked samples, and runs of one repeated value of ``FLAT_GAP`` (1 s) or more, count as gaps;
   gaps up to ``max_gap`` are interpolated linearly, longer ones split the data;
4. bring every piece to 100 Hz with a polyphase anti-alias filter (``scipy.signal.resample_poly``,
   Kaiser-windowed FIR, linear phase); the output samples are anchored to the absolute time
   grid so that any cut of the same data (hourly shards) gives the same samples;
5. EqT's preprocessing, as its original predictors prepare a stream (the data the weights
   were trained on looked like this): demean, Butterworth bandpass 1–45 Hz (2 corners, zero
   phase), cosine taper; the offset removed and the taper depend only on samples near each
   edge (see ``_preprocess``), so cuts of the same data that share an edge are prepared
   identically except within ``EDGE_SETTLING`` seconds of an edge they do not share;
6. the vertical's pieces define the segments; horizontals fill in where they have data, and
   are zero elsewhere (a missing horizontal is zero-filled with a warning, as EqT tolerates);
   segments shorter than one window (60 s) are skipped and logged, unless ``pad_from`` lets them
   be zero-padded to one (the picker's and the re-picker's ``minLength``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from obspy import Stream, Trace, UTCDateTime, read

log = logging.getLogger("seqt_plugins.picker")

FS = 100.0  # EqT's sampling rate
NS_PER_SAMPLE = 10_000_000  # 10 ms
WINDOW = 6000  # samples per EqT window
FREQMIN, FREQMAX = 1.0, 45.0
# Cosine taper at each edge of a piece: a fixed 2 s (the original predictors taper 0.1 % of
# the stream, at most 2 s, so every piece of 2000 s or more always had 2 s), not a fraction of the piece's length, so a
# shard, chunk or real-time buffer tapers a true data edge exactly as the whole run does.
TAPER = 2.0  # s
# Offset removal ("demean") uses the mean of the first OFFSET_SPAN seconds, not of the whole
# piece: the bandpass removes any constant except for its step response at the start edge, and
# a whole-piece mean would make that response (and every sample after it, by rounding) depend
# on where the piece ends.
OFFSET_SPAN = 2.0  # s
# Beyond this distance from an edge the prepared samples no longer depend on that edge: the
# taper (2 s) plus the settling of the zero-phase 1 Hz high-pass (its slowest poles decay as
# exp(-4.4 t): 1e-16 after 8.3 s) plus the resampling FIR (< 0.2 s). The picker's ``margin``
# (150 s) covers it with room to spare; tests/test_picker_prepare.py measures it.
EDGE_SETTLING = 12.0  # s

# Segments at most this many samples (1 s) shorter than one window are zero-padded to a window
# (a record of one window at another rate resamples to a sample or two short of 6,000); the
# picker and the re-picker pad shorter ones down to their ``min_length`` (``pad_from_length``).
PAD_LIMIT = 100
# A run of one repeated value at least this long is no ground motion: a dead channel, a gap
# filled with zeros or with the last value (telemetry drop-outs, format conversions), or the
# constant padding of STEAD-format records. EqT takes the step where data resume for an onset
# (on the single-station records' own pre-event noise, 9 of the 12 records with a false P at a
# window's whole second had such padding), so such runs are gaps like masked samples. Real
# data repeat a value for a few samples at most (90 % of the single-station traces: 7 or fewer).
# A clipped stretch up to ``max_gap`` long is bridged by a line between its neighbours, which
# lie at about the clip level, so it reads nearly as before; only longer saturation splits the data.
FLAT_GAP = 1.0  # s


def pad_from_length(min_length: float) -> int:
    """``pad_from`` (samples) for an engine's ``min_length`` option (s): segments from there up to
    one window are padded; never above ``PAD_LIMIT`` short of a window, which is always padded."""
    return min(WINDOW - PAD_LIMIT, int(round(min_length * FS)))

# Column order of EqT's input.
E, N, Z = 0, 1, 2


class PrepareError(ValueError):
    """An input that cannot be used, with a one-line message naming it."""


@dataclass
class Segment:
    """Gap-free, preprocessed 100 Hz data of one station: ``data`` (n, 3) float32, columns E, N, Z.
    ``valid``: where the data were zero-padded to one window, the number of real samples (the
    picks of the padding are dropped); None when all are real."""

    start: UTCDateTime
    data: np.ndarray
    valid: Optional[int] = None

    @property
    def npts(self) -> int:
        return int(self.data.shape[0])

    @property
    def real(self) -> int:
        """Samples of data: all of them, or those before a short segment's padding."""
        return self.npts if self.valid is None else self.valid

    @property
    def end(self) -> UTCDateTime:
        return self.start + (self.npts - 1) / FS

    def time(self, index) -> UTCDateTime:
        return self.start + float(index) / FS


@dataclass
class StationData:
    network: str
    station: str
    location: str
    channels: Tuple[str, str, str]  # channel codes in E, N, Z order ("" where missing)
    segments: List[Segment] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.network}.{self.station}.{self.location}"


# --------------------------------------------------------------------------------------------
# reading


def read_waveforms(paths: Union[str, Path, Iterable[Union[str, Path]]], format: Optional[str] = None) -> Stream:
    """Read waveform files into one Stream; an unreadable file raises one line naming it."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    stream = Stream()
    for path in paths:
        try:
            part = read(str(path), format=format) if format else read(str(path))
        except Exception as exc:  # obspy raises many types for corrupt input
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PrepareError(f"{path}: cannot read waveforms ({type(exc).__name__}: {reason})") from None
        for tr in part:
            if tr.stats.npts and not np.issubdtype(np.asarray(tr.data).dtype, np.number):
                raise PrepareError(f"{path}: trace {tr.id} holds non-numeric samples")
        stream += part
    return stream


# --------------------------------------------------------------------------------------------
# per component: merge, gaps, resampling, filtering


def _merge_component(traces: Sequence, max_gap: float, label: str) -> Tuple[float, List[Tuple[UTCDateTime, np.ndarray]]]:
    """Merge one component's traces; returns (sampling rate, contiguous float64 pieces)."""
    rates = defaultdict(int)
    for tr in traces:
        rates[round(float(tr.stats.sampling_rate), 6)] += tr.stats.npts
    sr = max(rates, key=lambda r: (rates[r], r))
    traces = [tr for tr in traces if tr.stats.npts > 0]
    if sr <= 0:
        return sr, []
    if len(rates) > 1:
        # a station reconfigured within the data (100 Hz, then 200 Hz): the other rates' traces
        # are brought to the main one, so the whole span is picked as one; where both rates
        # cover the same time, the main rate's samples are used (they come last, later wins)
        others = sorted(r for r in rates if r != sr)
        log.warning("%s: sampling rate changes (%s Hz); the %s Hz data resampled to %g Hz", label,
                    ", ".join(f"{r:g}" for r in sorted(rates)), ", ".join(f"{r:g}" for r in others), sr)
        converted = [piece for tr in traces if round(float(tr.stats.sampling_rate), 6) != sr
                     for piece in _resampled_traces(tr, sr)]
        main = [tr for tr in traces if round(float(tr.stats.sampling_rate), 6) == sr]
        traces = sorted(converted, key=lambda tr: tr.stats.starttime) + sorted(main, key=lambda tr: tr.stats.starttime)
    else:
        traces = sorted(traces, key=lambda tr: tr.stats.starttime)
    if not traces:
        return sr, []
    pieces = []
    for group in _clusters(traces, max_gap + 1.0):
        pieces += _merge_cluster(group, sr, max_gap, label)
    if not pieces:
        log.warning("%s: no valid samples", label)
    return sr, pieces


def _clusters(traces: Sequence, gap: float) -> List[list]:
    """The traces in groups that no gap longer than ``gap`` seconds separates, in time order, each
    in the traces' own order (later ones win on overlaps). Merged one group at a time, a record
    stamped years off (a GPS glitch) costs a piece of its own instead of a buffer spanning the
    years between (188 GiB for one 512-byte record four years late at 200 Hz)."""
    order = sorted(range(len(traces)), key=lambda i: traces[i].stats.starttime)
    group_of, reach, k = {}, None, -1
    for i in order:
        start, end = traces[i].stats.starttime, traces[i].stats.endtime
        if reach is None or start - reach > gap:
            k += 1
            reach = end
        else:
            reach = max(reach, end)
        group_of[i] = k
    groups = [[] for _ in range(k + 1)]
    for i, tr in enumerate(traces):
        groups[group_of[i]].append(tr)
    return groups


def _merge_cluster(traces: Sequence, sr: float, max_gap: float, label: str) -> List[Tuple[UTCDateTime, np.ndarray]]:
    """One group of ``_clusters`` on one sample grid (anchored at its earliest trace), its gaps
    interpolated or split: contiguous float64 pieces."""
    t0 = min(tr.stats.starttime for tr in traces)
    t_end = max(tr.stats.endtime for tr in traces)
    n = int(round((t_end - t0) * sr)) + 1
    buf = np.zeros(n, dtype=np.float64)
    valid = np.zeros(n, dtype=bool)
    for tr in traces:
        i0 = int(round((tr.stats.starttime - t0) * sr))
        raw = tr.data
        values = np.ma.getdata(raw)
        stop = min(n, i0 + len(values))
        values = values[: stop - i0]
        # integer data without a mask (the usual case) has no gap, and is copied in one
        # assignment without boolean indexing
        good = _good_samples(raw, values)
        if good is None or good.all():
            buf[i0:stop] = values
            valid[i0:stop] = True
        else:
            # overlaps: later traces win where they have data
            seg = buf[i0:stop]
            seg[good] = values[good]
            valid[i0:stop] |= good
    _mask_flat_runs(buf, valid, int(math.ceil(FLAT_GAP * sr)), t0, sr, label)
    return _split_gaps(t0, sr, buf, valid, max_gap, label)


def _good_samples(raw, values: np.ndarray) -> Optional[np.ndarray]:
    """Which samples of a trace's data are data: masked, NaN and inf ones are gaps. None where
    all are by construction (integer data without a mask), so the caller skips the indexing.
    ``values``: the data without the mask, or their first samples."""
    good = None
    if np.ma.isMaskedArray(raw) and np.ma.getmask(raw) is not np.ma.nomask:
        good = ~np.ma.getmaskarray(raw)[: len(values)]
    if values.dtype.kind not in "iub":
        finite = np.isfinite(values)
        good = finite if good is None else good & finite
    return good


def _resampled_traces(tr, sr: float) -> list:
    """The trace's data at ``sr`` (anti-alias polyphase resampling), one trace per run of good
    samples: masked, NaN and inf samples stay gaps."""
    from scipy.signal import resample_poly

    rate = float(tr.stats.sampling_rate)
    up, down = _rate_ratio(rate, sr)
    values = np.asarray(np.ma.getdata(tr.data), dtype=np.float64)
    good = _good_samples(tr.data, values)
    out = []
    for a, b in _runs(good):  # (float data: never None)
        if b - a < 2:
            continue
        piece = Trace(resample_poly(values[a:b], up, down, window=_antialias_fir(up, down), padtype="edge"),
                      header={k: tr.stats[k] for k in ("network", "station", "location", "channel")})
        piece.stats.sampling_rate = sr
        piece.stats.starttime = tr.stats.starttime + a / rate
        out.append(piece)
    return out


def flat_runs(x: np.ndarray, flat: int, valid: Optional[np.ndarray] = None) -> List[Tuple[int, int]]:
    """[start, stop) runs of at least ``flat`` identical samples of ``x`` (among ``valid`` ones).

    Cheap on real data, which repeat values only briefly: a run of ``flat`` samples holds three
    consecutive samples of every ``flat // 3``-th one, so only where three such samples are equal
    are the samples themselves compared (a day at 100 Hz: milliseconds instead of a pass of
    comparisons over every sample)."""
    if flat < 2 or len(x) < flat:
        return []
    if flat < 3:
        return _flat_runs_in(x, valid, 0, len(x), flat)
    step = flat // 3
    y = x[::step]
    triple = np.flatnonzero((y[:-2] == y[1:-1]) & (y[1:-1] == y[2:]))
    if triple.size == 0:
        return []
    # regions around the candidates, merged, each checked sample by sample
    lo = np.maximum(triple * step - flat, 0)
    hi = np.minimum((triple + 2) * step + flat + 1, len(x))
    runs: List[Tuple[int, int]] = []
    a, b = int(lo[0]), int(hi[0])
    for l, h in zip(lo[1:].tolist(), hi[1:].tolist()):
        if l <= b:
            b = max(b, h)
            continue
        runs.extend(_flat_runs_in(x, valid, a, b, flat))
        a, b = l, h
    runs.extend(_flat_runs_in(x, valid, a, b, flat))
    return runs


def _flat_runs_in(x, valid, a: int, b: int, flat: int) -> List[Tuple[int, int]]:
    """``flat_runs`` inside x[a:b]. A long run lies wholly inside one of ``flat_runs``' merged
    regions: every sampled triple in it is a candidate, and their regions overlap and reach
    ``flat`` samples beyond its first and last sampled point."""
    seg = x[a:b]
    same = seg[1:] == seg[:-1]
    if valid is not None:
        v = valid[a:b]
        same &= v[1:] & v[:-1]
    d = np.diff(np.concatenate(([0], same.view(np.int8), [0])))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    long = stops - starts + 1 >= flat  # samples starts .. stops share one value
    return list(zip((starts[long] + a).tolist(), (stops[long] + 1 + a).tolist()))


def _mask_flat_runs(buf: np.ndarray, valid: np.ndarray, flat: int, t0, sr: float, label: str) -> None:
    """Runs of at least ``flat`` identical valid samples become gaps (``FLAT_GAP``)."""
    for a, b in flat_runs(buf, flat, valid):
        valid[a:b] = False
        log.info("%s: %.2f s of one repeated value (%g) at %s treated as a gap", label, (b - a) / sr, buf[a],
                 t0 + a / sr)


def _runs(mask: np.ndarray) -> List[Tuple[int, int]]:
    """[start, stop) runs of True in a boolean array."""
    if not mask.any():
        return []
    if mask.all():  # gap-free data, the usual case: no differences to take over the whole array
        return [(0, len(mask))]
    d = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist()))


def _split_gaps(t0, sr, buf, valid, max_gap, label):
    pieces = []
    data_runs = _runs(valid)
    if not data_runs:
        return pieces  # (the caller warns: "no valid samples")
    limit = int(round(max_gap * sr))
    start, stop = data_runs[0]
    for nxt_start, nxt_stop in data_runs[1:]:
        gap = nxt_start - stop
        if gap <= limit:
            # linear interpolation between the last good sample and the next good one
            x0, x1 = buf[stop - 1], buf[nxt_start]
            buf[stop:nxt_start] = x0 + (x1 - x0) * np.arange(1, gap + 1) / (gap + 1)
            log.info("%s: %.3f s gap at %s interpolated", label, gap / sr, t0 + stop / sr)
            stop = nxt_stop
        else:
            log.info("%s: %.3f s gap at %s splits the data", label, gap / sr, t0 + stop / sr)
            pieces.append((t0 + start / sr, buf[start:stop]))
            start, stop = nxt_start, nxt_stop
    pieces.append((t0 + start / sr, buf[start:stop]))
    return pieces


@functools.lru_cache(maxsize=None)
def _antialias_fir(up: int, down: int) -> np.ndarray:
    """``resample_poly``'s own default FIR (Kaiser, beta 5) for ``up/down``, designed once: the
    design took as long as the filtering of a minute of data, which real time prepares often."""
    from scipy.signal import firwin

    rate = max(up, down)
    h = firwin(2 * 10 * rate + 1, 1.0 / rate, window=("kaiser", 5.0))
    h.setflags(write=False)
    return h


@functools.lru_cache(maxsize=None)
def _bandpass_sos() -> np.ndarray:
    """The 1–45 Hz Butterworth of ``obspy.signal.filter.bandpass`` (2 corners) at 100 Hz,
    designed once (its design cost more than filtering a minute of data). Shared: never
    modified (scipy's ``sosfilt`` only takes it writable)."""
    from scipy.signal import iirfilter

    nyquist = 0.5 * FS
    return iirfilter(2, [FREQMIN / nyquist, FREQMAX / nyquist], btype="band", ftype="butter", output="sos")


def _bandpass(x: np.ndarray) -> np.ndarray:
    """Zero-phase 1–45 Hz bandpass along the last axis: ``bandpass(x, 1, 45, df=100, corners=2,
    zerophase=True)`` of ObsPy, bit for bit (the same design, forwards then backwards)."""
    from scipy.signal import sosfilt

    sos = _bandpass_sos()
    return np.flip(sosfilt(sos, np.flip(sosfilt(sos, x), axis=-1)), axis=-1)


def _rate_ratio(sr: float, target: float = FS) -> Tuple[int, int]:
    """(up, down) of the polyphase resampling from ``sr`` to ``target`` Hz."""
    frac = Fraction(target / sr).limit_denominator(1000)
    return frac.numerator, frac.denominator


def _to_100hz(start: UTCDateTime, x: np.ndarray, sr: float, label: str) -> Tuple[UTCDateTime, np.ndarray]:
    """Anti-alias resampling to 100 Hz along the last axis (one component, or several that
    share start and length), output anchored to the absolute sample grid."""
    if abs(sr - FS) < 1e-9:
        return start, x
    from scipy.signal import resample_poly

    up, down = _rate_ratio(sr)
    if abs(sr * up / down - FS) > 1e-6 * FS:
        log.warning("%s: %g Hz resampled by %d/%d gives %.6f Hz", label, sr, up, down, sr * up / down)
    # Global index of x[0] on the input grid: choose the first input sample whose global
    # index is a multiple of `down`, so every cut of the same data yields the same outputs.
    # Half-up rounding (not round()'s half-to-even): for data half a sample off the grid,
    # half-to-even would number two cuts an odd number of samples apart inconsistently.
    g0 = math.floor(Fraction(start.ns) * Fraction(sr).limit_denominator(10**6) / 10**9 + Fraction(1, 2))
    r = (-g0) % down
    if x.shape[-1] - r < 2:
        return start, x[..., :0]
    # "edge" (the end samples extended) depends only on the samples near each end; "line"
    # would subtract a line through both end samples, i.e. depend on where the piece ends.
    y = resample_poly(x[..., r:], up, down, axis=-1, window=_antialias_fir(up, down), padtype="edge")
    return start + r / sr, y


def _preprocess(x: np.ndarray) -> np.ndarray:
    """EqT's stream preparation at 100 Hz along the last axis: remove the offset, bandpass 1–45 Hz
    (2 corners, zero phase), taper.

    Every step depends only on the data near each edge, never on the piece's length: the
    offset is the mean of the first ``OFFSET_SPAN`` s (the high-pass removes any constant; only
    the forward pass's start transient sees which one), and the cosine taper is ``TAPER`` s
    long at both ends (half the piece at most).
    """
    n = x.shape[-1]
    x = x - x[..., : max(1, int(round(OFFSET_SPAN * FS)))].mean(axis=-1, keepdims=True)
    x = _bandpass(x)
    # hann-shaped cosine taper, as obspy's Trace.taper("cosine"/"hann"), of fixed length
    wlen = min(int(round(TAPER * FS)), n // 2)
    if wlen > 0:
        ramp = 0.5 * (1 - np.cos(np.pi * np.arange(wlen) / wlen))
        x[..., :wlen] *= ramp
        x[..., n - wlen :] *= ramp[::-1]
    return x


def _prepared_pieces(sr: float, pieces, label: str) -> list:
    """Merged pieces (start, samples) at ``sr`` → prepared 100 Hz float32 pieces; the samples
    of a piece may also be (k, n): k components sharing its start and length, prepared in one
    go (the same arithmetic per row, so the same samples as one at a time)."""
    out = []
    for start, x in pieces:
        start, y = _to_100hz(start, x, sr, label)
        if y.shape[-1] < 2:
            continue
        out.append((start, _preprocess(y).astype(np.float32)))
    return out


def _components_pieces(codes: Sequence[str], by_code, max_gap: float, label: str) -> Dict[str, list]:
    """Each component code's prepared 100 Hz pieces (its traces merged, resampled, filtered);
    where the components' data share rate, starts and lengths (the usual case) their pieces are
    prepared together: a third of the filter and resampling calls, which real time makes for
    every pass of every station."""
    merged = {c: _merge_component(by_code[c], max_gap, f"{label}{c}") for c in codes}
    rates = {sr for sr, _ in merged.values()}
    shapes = {tuple((start.ns, len(x)) for start, x in pieces) for _, pieces in merged.values()}
    if len(codes) < 2 or len(rates) != 1 or len(shapes) != 1:
        return {c: _prepared_pieces(sr, pieces, f"{label}{c}") for c, (sr, pieces) in merged.items()}
    pieces_per_code = [pieces for _, pieces in merged.values()]
    joint = [(same[0][0], np.stack([x for _, x in same])) for same in zip(*pieces_per_code)]
    prepared = _prepared_pieces(rates.pop(), joint, label + "".join(codes))
    return {c: [(start, y[row]) for start, y in prepared] for row, c in enumerate(codes)}


# --------------------------------------------------------------------------------------------
# stations and components


_HORIZONTAL_CODES = ("N", "E", "1", "2", "3")


def _component_map(codes: Iterable[str]) -> Dict[str, int]:
    """Last channel letter → EqT column; Z/1/2 → 1 is N, 2 is E; Z/2/3 → 2 is N, 3 is E."""
    codes = set(codes)
    mapping = {}
    if "Z" in codes:
        mapping["Z"] = Z
    if "N" in codes or "E" in codes:
        for c in ("N", "E"):
            if c in codes:
                mapping[c] = N if c == "N" else E
    elif "3" in codes:
        if "2" in codes:
            mapping["2"] = N
        mapping["3"] = E
    else:
        if "1" in codes:
            mapping["1"] = N
        if "2" in codes:
            mapping["2"] = E
    return mapping


def _orientation(inventory, seed_id: str, time: UTCDateTime) -> Optional[Tuple[float, float]]:
    if inventory is None:
        return None
    try:
        o = inventory.get_orientation(seed_id, time)
        az, dip = o.get("azimuth"), o.get("dip")
        if az is None or dip is None:
            return None
        return float(az), float(dip)
    except Exception:
        return None


_NOMINAL = {E: (90.0, 0.0), N: (0.0, 0.0)}


def _is_nominal(col: int, az: float, dip: float) -> bool:
    if col == Z:
        return abs(abs(dip) - 90.0) < 1.0
    naz, ndip = _NOMINAL[col]
    return abs(((az - naz + 180.0) % 360.0) - 180.0) < 1.0 and abs(dip - ndip) < 1.0


class RepeatFilter(logging.Filter):
    """Lets each distinct message of the preparation through once, and none below ``min_level``:
    code that prepares the same station again and again (real time's passes, the re-picker's
    stretches) would otherwise repeat its warnings (a missing horizontal) at every call."""

    def __init__(self, min_level: int = logging.NOTSET, limit: int = 10_000):
        super().__init__()
        self.min_level = min_level
        self.limit = limit  # messages remembered (those naming a time are all distinct)
        self.seen: set = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level:
            return False
        msg = record.getMessage()
        if msg in self.seen:
            return False
        if len(self.seen) >= self.limit:
            self.seen.clear()
        self.seen.add(msg)
        return True

    @contextlib.contextmanager
    def applied(self):
        """Filter the preparation's log records inside the ``with`` block."""
        log.addFilter(self)
        try:
            yield
        finally:
            log.removeFilter(self)


def group_by_instrument(stream: Stream) -> Dict[Tuple[str, str, str], Dict[str, list]]:
    """(network, station, location) -> instrument (channel code less its last letter) -> traces.
    Traces recorded slower than ``MIN_SAMPLING_RATE`` are left out (a warning once per stream)."""
    groups: Dict[Tuple[str, str, str], Dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for tr in stream:
        s = tr.stats
        if len(s.channel) < 1:
            log.warning("%s: channel code empty, trace ignored", tr.id)
            continue
        if too_slow(tr.id, s.sampling_rate):
            continue
        groups[(s.network, s.station, s.location)][s.channel[:-1]].append(tr)
    return groups


# EqT reads 1-45 Hz. A stream sampled slower than this holds at most its lowest 4 Hz (10 Hz
# samples: up to 5 Hz): long-period and state-of-health channels (SEED band codes M, L, V, U:
# LHZ at 1 Hz, mass positions at 0.1 Hz), whose resampled noise EqT picks as arrivals (1-Hz
# noise gave 5 P and 9 S in an hour). A station recording such channels beside its
# seismometer is picked on the seismometer.
MIN_SAMPLING_RATE = 10.0  # Hz
_warned_slow: set = set()


def too_slow(seed_id: str, rate: float) -> bool:
    """Whether a stream is recorded too slowly for EqT; says so once per stream and process."""
    if rate >= MIN_SAMPLING_RATE:
        return False
    if seed_id not in _warned_slow:
        _warned_slow.add(seed_id)
        log.warning("%s: %g Hz is below the %g Hz that EqT needs (its band is %g-%g Hz); not picked", seed_id,
                    rate, MIN_SAMPLING_RATE, FREQMIN, FREQMAX)
    return True


# SEED instrument codes (a channel's second letter), best first for picking: seismometers (high,
# then low gain), geophones, then accelerometers. A strong-motion sensor beside a seismometer
# records a small event's P far below its own noise: on the labelled ISNet record, picking the
# HN accelerometers instead of the EH/HH seismometers of the same stations lost P arrivals with an
# SNR of 15-30 on the seismometer (benchmarks/accuracy.py --degrade).
INSTRUMENT_PREFERENCE = {"H": 0, "L": 1, "P": 2, "N": 3}
# Below this rate a sensor lacks much of EqT's 1-45 Hz band (a 20 Hz BH channel holds 10 Hz at
# most), so any instrument recording at least this fast comes first.
FULL_BAND_RATE = 80.0


def instrument_rank(item) -> tuple:
    """Sort key (larger is better) of one station's instruments ``(prefix, traces)``: full EqT
    band first, then the instrument's kind (``INSTRUMENT_PREFERENCE``), sampling rate, samples."""
    prefix, traces = item
    rate = max(tr.stats.sampling_rate for tr in traces)
    kind = INSTRUMENT_PREFERENCE.get(prefix[1:2].upper(), len(INSTRUMENT_PREFERENCE))
    return (rate >= FULL_BAND_RATE, -kind, rate, sum(tr.stats.npts for tr in traces), prefix)


def prepare_stream(stream: Stream, max_gap: float = 5.0, inventory=None, min_length: int = WINDOW,
                   pad_from: Optional[int] = None) -> List[StationData]:
    """Group a Stream of any number of stations into prepared ``StationData`` (see module doc).
    Segments of ``pad_from`` samples or more (default ``PAD_LIMIT`` short of ``min_length``) but
    shorter than ``min_length`` are zero-padded after their end to ``min_length``."""
    return list(iter_prepared(stream, max_gap, inventory, min_length, pad_from))


def iter_prepared(stream: Stream, max_gap: float = 5.0, inventory=None, min_length: int = WINDOW,
                  pad_from: Optional[int] = None) -> Iterable[StationData]:
    """``prepare_stream``, one station at a time (the picker runs EqT on a station's windows
    while the next one is prepared)."""
    if pad_from is None:
        pad_from = min_length - PAD_LIMIT
    for (net, sta, loc), instruments in sorted(group_by_instrument(stream).items()):
        label = f"{net}.{sta}.{loc}"
        with_z = {k: v for k, v in instruments.items() if any(tr.stats.channel[-1] == "Z" for tr in v)}
        if not with_z:
            # a dead or missing vertical (borehole sensors, e.g. CRL's KOU): EqT still sees P and
            # S on the horizontals, so they are picked with the vertical zero-filled (analyst P
            # picks on such a station are made on a horizontal too)
            with_h = {k: v for k, v in instruments.items()
                      if len({tr.stats.channel[-1] for tr in v} & set(_HORIZONTAL_CODES)) >= 1}
            chans = sorted({tr.stats.channel for v in instruments.values() for tr in v})
            if not with_h:
                log.warning("%s: no vertical (Z) or horizontal channel among %s; station skipped", label, ",".join(chans))
                continue
            log.warning("%s: no vertical (Z) channel among %s; picked on the horizontals, Z zero-filled",
                        label, ",".join(chans))
            with_z = with_h

        prefix, traces = max(with_z.items(), key=instrument_rank)
        if len(with_z) > 1:
            log.info("%s: several instruments %s; using %s", label, sorted(with_z), prefix)
        station = _prepare_station(net, sta, loc, prefix, traces, max_gap, inventory, min_length, pad_from)
        if station is not None:
            yield station


def _prepare_station(net, sta, loc, prefix, traces, max_gap, inventory, min_length, pad_from) -> Optional[StationData]:
    label = f"{net}.{sta}.{loc}.{prefix}?"
    by_code = defaultdict(list)
    for tr in traces:
        by_code[tr.stats.channel[-1]].append(tr)
    mapping = _component_map(by_code)
    unused = sorted(set(by_code) - set(mapping))
    if unused:
        log.warning("%s: components %s not used", label, ",".join(unused))
    channels = ["", "", ""]
    for code, col in mapping.items():
        channels[col] = prefix + code
    missing = [name for col, name in ((E, "E"), (N, "N")) if not channels[col]]
    if missing:
        log.warning("%s: horizontal component(s) %s missing; zero-filled", label, ",".join(missing))

    # the vertical's pieces define the segments; without a vertical, the first horizontal's
    ref = "Z" if "Z" in mapping else min(mapping, key=lambda c: (mapping[c] != N, c))
    prepared = _components_pieces(sorted(mapping), by_code, max_gap, label[:-1])
    z_pieces = prepared[ref]
    segments = []
    horizontals = {}
    for code, col in mapping.items():
        if col != Z:
            horizontals[col] = prepared[code]
    for start, z in z_pieces:
        valid = None
        if pad_from <= len(z) < min_length:
            # a record of one window at another rate (2,400 samples at 40 Hz resample to a sample
            # or two short of 6,000), or a short event file: zero-padded after its end (after the
            # taper the data fade to zero there) rather than lost; its padding is not picked
            valid = len(z)
            z = np.concatenate([z, np.zeros(min_length - len(z), dtype=z.dtype)])
            if valid < min_length - PAD_LIMIT:
                log.info("%s: segment %s (%.1f s) shorter than one window; zero-padded to one", label, start,
                         valid / FS)
        if len(z) < min_length:
            log.warning("%s: segment %s (%.1f s) shorter than one window and than %.1f s; skipped", label, start,
                        len(z) / FS, max(pad_from, 1) / FS)
            continue
        real = len(z) if valid is None else valid  # samples of data; zero after them
        data = np.zeros((len(z), 3), dtype=np.float32)
        if ref == "Z":
            data[:, Z] = z
        for col, pieces in horizontals.items():
            filled = 0
            for hstart, h in pieces:
                offset = int(round((hstart - start) * FS))
                # a padded segment's padding stays zero on every component (real time's too)
                i0, i1 = max(0, offset), min(real, offset + len(h))
                if i1 > i0:
                    data[i0:i1, col] = h[i0 - offset : i1 - offset]
                    filled += i1 - i0
            if filled < real:
                log.info("%s: %s covers %.1f of %.1f s; the rest zero-filled", label, channels[col], filled / FS,
                         real / FS)
        _rotate(data, net, sta, loc, channels, inventory, start, label)
        segments.append(Segment(start, data, valid))
    if not segments:
        log.warning("%s: no segment of at least one window (%d samples); station skipped", label, min_length)
        return None
    return StationData(net, sta, loc, tuple(channels), segments)


def _rotate(data, net, sta, loc, channels, inventory, start, label) -> None:
    """Rotate to Z/N/E in place when the inventory gives non-nominal orientations."""
    if inventory is None or not all(channels):
        return
    orient = {}
    for col in (E, N, Z):
        o = _orientation(inventory, f"{net}.{sta}.{loc}.{channels[col]}", start)
        if o is None:
            log.debug("%s: no orientation for %s in the inventory; naming convention used", label, channels[col])
            return
        orient[col] = o
    if all(_is_nominal(col, *orient[col]) for col in (E, N, Z)) and orient[Z][1] <= 0:
        return
    from obspy.signal.rotate import rotate2zne

    z, n, e = rotate2zne(
        data[:, Z].astype(np.float64), orient[Z][0], orient[Z][1],
        data[:, N].astype(np.float64), orient[N][0], orient[N][1],
        data[:, E].astype(np.float64), orient[E][0], orient[E][1],
    )
    data[:, Z], data[:, N], data[:, E] = z, n, e
    log.info("%s: rotated to Z/N/E from inventory orientations %s", label, orient)
