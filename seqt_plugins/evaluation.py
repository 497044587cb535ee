"""Scoring picks against analyst picks, and the noise protocol of ``benchmarks/accuracy.py``.

Labels are analyst picks ``{(network, station, phase): time}``. A pick within ``TOL`` of the
analyst pick of its station and phase is correct; one of that station-phase farther away but
within ``WRONG_WITHIN`` is wrong; every other pick is not scored (event records hold unlabelled
events, and an unlabelled station-phase is no proof that nothing arrived there).

``add_noise`` lowers a record's SNR by a factor k with the record's own pre-event noise (tiled
from seeded offsets, scaled by sqrt(k^2 - 1): independent noise adds in power; constant padding,
as STEAD's records carry, is not noise and is left out), the low-SNR case S-EqT is meant for. ``labelled_arrays`` and ``single_station`` read the two labelled data
layouts of the project's test data (``picks.csv`` per set; see its README).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from obspy import Stream, UTCDateTime, read, read_inventory

from .picker.prepare import FLAT_GAP, flat_runs

TOL = {"P": 0.5, "S": 1.0}
WRONG_WITHIN = 5.0  # s: a pick of a labelled station-phase this close but beyond TOL is wrong


@dataclass
class Record:
    """One event record: waveforms, analyst picks {(net, sta, phase): time}, station coordinates."""

    name: str
    stream: Stream
    labels: Dict[Tuple[str, str, str], UTCDateTime]
    inventory: object = None
    coordinates: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- data


def labelled_arrays(root: Path) -> List[Record]:
    picks = list(csv.DictReader(open(root / "picks.csv")))
    events = [r["event_id"] for r in csv.DictReader(open(root / "events.csv"))]
    inv = read_inventory(str(root / "stations.xml"))
    from seqt_plugins.geo import coordinates_from_inventory

    coords = coordinates_from_inventory(inv)
    out = []
    for ev in events:
        st = read(str(root / "waveforms" / f"{ev}.mseed"))
        labels = {}
        for p in picks:
            if p["event_id"] != ev:
                continue
            key = (p["network"], p["station"], p["phase"][:1].upper())
            t = UTCDateTime(p["time"])
            # duplicate analyst lines (TRIZ) or two sensors of one station: keep the earliest
            labels[key] = min(labels.get(key, t), t)
        out.append(Record(ev, st, labels, inv, coords))
    return out


def analyst_origins(root: Path) -> Dict[str, Tuple[Optional[UTCDateTime], float, float, float]]:
    """``labelled_arrays``' published hypocentres: event id → (origin time or None, lat, lon, depth km)."""
    out = {}
    for r in csv.DictReader(open(root / "events.csv")):
        t = UTCDateTime(r["origin_time"]) if r["origin_time"] else None
        out[r["event_id"]] = (t, float(r["latitude"]), float(r["longitude"]), float(r["depth_km"]))
    return out


def match_origins(origins, reference, max_seconds: float = 3.0, max_km: float = 10.0):
    """The origin nearest ``reference`` (time, lat, lon, depth) within ``max_seconds`` (when the
    reference has a time) and ``max_km`` epicentral distance: (origin, epicentral km, seconds)
    or None. The issue's catalog target counts an earthquake found this way (3 s, 10 km)."""
    from obspy.geodetics import gps2dist_azimuth

    t0, lat, lon, _ = reference
    best = None
    for o in origins:
        km = gps2dist_azimuth(lat, lon, o.latitude, o.longitude)[0] / 1000.0
        dt = abs(o.time - t0) if t0 is not None else 0.0
        if km <= max_km and dt <= max_seconds and (best is None or km < best[1]):
            best = (o, km, dt if t0 is not None else None)
    return best


def events_found(origins, reference_origins) -> Tuple[int, int]:
    """Catalog against catalog: (reference events that an origin matches within 3 s and 10 km,
    origins matching none). Each origin matches one reference event at most, so one origin
    between two close events counts once."""
    left = list(origins)
    found = 0
    for ref in sorted(reference_origins, key=lambda o: o.time):
        m = match_origins(left, (ref.time, ref.latitude, ref.longitude, None))
        if m is not None:
            found += 1
            left.remove(m[0])
    return found, len(left)


def single_station(root: Path, seed: int = 20200807, one_window: bool = False) -> List[Record]:
    """Each record in its own Record (station renamed to a unique code)."""
    rng = np.random.default_rng(seed)
    rows = list(csv.DictReader(open(root / "picks.csv")))
    out = []
    for i, row in enumerate(rows):
        rec = read(str(root / row["file"]))
        start = UTCDateTime(row["starttime"])
        tp, ts = UTCDateTime(row["p_time"]), UTCDateTime(row["s_time"])
        if one_window:
            # exactly 6,000 samples with P 5-20 s into the window (STEAD puts P at 5-15 s)
            lead = float(rng.uniform(5.0, 20.0))
            a = max(start, tp - lead)
            a = min(a, min(tr.stats.endtime for tr in rec) - 5999 / 100.0)  # the window fits the record
            rec.trim(a, a + 5999 / 100.0, nearest_sample=True)
        else:
            rec.trim(start + round(float(rng.uniform(0.0, 20.0)), 2), None)
        code = f"R{i:03d}"
        for tr in rec:
            tr.stats.network, tr.stats.station = "XX", code
        out.append(Record(code, rec, {("XX", code, "P"): tp, ("XX", code, "S"): ts}))
    return out


def short_records(root: Path, length: float = 30.0, seed: int = 20261207) -> List[Record]:
    """Each single-station record cut to ``length`` s (shorter than one EqT window, as short
    triggered or event files are), starting a seeded random 3-10 s before the analyst P; records
    whose S (plus 2 s) would not fit are left out."""
    rng = np.random.default_rng(seed)
    out = []
    for r in single_station(root):
        (tp, ts) = (r.labels[("XX", r.name, "P")], r.labels[("XX", r.name, "S")])
        a = tp - float(rng.uniform(3.0, 10.0))
        if ts + 2.0 <= a + length:
            out.append(Record(r.name, r.stream.slice(a, a + length - 0.01).copy(), r.labels))
    return out


def noise_records(root: Path, length: int = 6000, guard: float = 1.0) -> List[Record]:
    """A 60-s record of pure noise per single-station record, the false-alarm case of STEAD's
    noise records: the station's own pre-event noise (up to ``guard`` s before the analyst P,
    without the records' constant padding) folded back and forth (forward, reversed, forward,
    …) to ``length`` samples, the same fold on every component. A fold keeps the noise's amplitude spectrum and polarisation and
    leaves no step at the joins, so nothing there looks like an onset. No labels: any pick in
    such a record is a false one."""
    rows = list(csv.DictReader(open(root / "picks.csv")))
    out = []
    for i, row in enumerate(rows):
        rec = read(str(root / row["file"]))
        tp = UTCDateTime(row["p_time"])
        code = f"N{i:03d}"
        # STEAD's records carry constant padding (up to 20 s here) where the source data began
        # later: only the longest stretch that is real noise on every component is folded
        n = min(int((tp - guard - tr.stats.starttime) * tr.stats.sampling_rate) for tr in rec)
        real = np.ones(n, dtype=bool)
        for tr in rec:
            real &= _not_padding(np.asarray(tr.data[:n]), tr.stats.sampling_rate)
        lo, hi = _longest_run(real)
        for tr in rec:
            seg = tr.data[lo:hi].astype(np.float64)
            seg -= seg.mean()
            reps = [seg if j % 2 == 0 else seg[::-1] for j in range(length // len(seg) + 1)]
            tr.data = np.concatenate(reps)[:length].astype(np.float32)
            tr.stats.network, tr.stats.station = "XX", code
        out.append(Record(code, rec, {}))
    return out


def _not_padding(x: np.ndarray, sr: float) -> np.ndarray:
    """True where ``x`` is not in a run of one repeated value (``prepare.FLAT_GAP``: padding)."""
    real = np.ones(len(x), dtype=bool)
    for a, b in flat_runs(x, int(math.ceil(FLAT_GAP * sr))):
        real[a:b] = False
    return real


def _longest_run(mask: np.ndarray) -> Tuple[int, int]:
    """[start, stop) of the longest run of True in ``mask`` ((0, 0) if none)."""
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    if starts.size == 0:
        return 0, 0
    k = int(np.argmax(stops - starts))
    return int(starts[k]), int(stops[k])


def add_noise(rec: Record, factor: float, seed: int = 1) -> Record:
    """A copy of ``rec`` whose traces carry pre-event noise scaled so the SNR drops by ``factor``."""
    if factor <= 1.0:
        return rec
    rng = np.random.default_rng(seed)
    st = rec.stream.copy()
    first = defaultdict(lambda: None)
    for (net, sta, _), t in rec.labels.items():
        first[(net, sta)] = t if first[(net, sta)] is None else min(first[(net, sta)], t)
    t_any = min(rec.labels.values())
    for tr in st:
        t1 = first[(tr.stats.network, tr.stats.station)] or t_any
        data = tr.data.astype(np.float64)
        sr = tr.stats.sampling_rate
        n_pre = int((t1 - 1.0 - tr.stats.starttime) * sr)
        # constant padding (STEAD's records) is no noise: its offset would add steps
        real = _not_padding(data, sr)
        a, b = _longest_run(real[:max(n_pre, 0)])
        n = int(5 * sr)
        if b - a < n:  # less than 5 s of real noise before the arrival: the quietest 5 s
            if len(data) <= n:
                continue
            starts = [i for i in range(0, len(data) - n, max(1, n // 4)) if real[i:i + n].all()]
            if not starts:
                continue
            k = min(starts, key=lambda i: np.std(data[i:i + n]))
            noise = data[k:k + n]
        else:
            noise = data[a:b]
        noise = noise - noise.mean()
        reps = []
        while sum(len(r) for r in reps) < len(data):
            off = int(rng.integers(0, len(noise)))
            reps.append(np.roll(noise, -off))
        add = np.concatenate(reps)[:len(data)]
        tr.data = (data + math.sqrt(factor ** 2 - 1.0) * add).astype(np.float32)
    return Record(rec.name, st, rec.labels, rec.inventory, rec.coordinates)


@dataclass
class WeakStation:
    """One labelled station of a record made noisier, the others as recorded (``weaken_stations``)."""

    station: Tuple[str, str]  # (network, station)
    labels: Dict[Tuple[str, str, str], UTCDateTime]  # its analyst picks
    picks: list  # the picker's picks of the weak station
    missed: List[Tuple[str, str, str]]  # its labelled station-phases the picker missed
    all_picks: list  # every station's picks, the weak one's replaced
    stream: Stream  # the record with the weak station's traces replaced


def weaken_stations(rec: Record, picker, factor: float, seed: int = 1, record_picks=None):
    """Each labelled station of ``rec`` in turn with its SNR / ``factor`` (``add_noise``), the
    others as recorded: a weak station beside well-picked ones, the case S-EqT was made for.
    Yields a ``WeakStation`` for each station where the picker then misses a labelled arrival.
    ``record_picks``: the picker's picks of the whole record, if already made."""
    all_picks = picker.pick(rec.stream, rec.inventory) if record_picks is None else record_picks
    for ns in sorted({key[:2] for key in rec.labels}):
        alone = Record(rec.name, rec.stream.select(network=ns[0], station=ns[1]), rec.labels, rec.inventory,
                       rec.coordinates)
        weak = add_noise(alone, factor, seed=seed)
        own = picker.pick(weak.stream, rec.inventory)
        labels = {key: t for key, t in rec.labels.items() if key[:2] == ns}
        found = score(own, labels)
        missed = [key for key in labels if key not in found[key[2]]["correct"]]
        if not missed:
            continue
        others = [p for p in all_picks if (p.waveform_id.network, p.waveform_id.station) != ns]
        stream = Stream([tr for tr in rec.stream if (tr.stats.network, tr.stats.station) != ns]) + weak.stream
        yield WeakStation(ns, labels, own, missed, others + own, stream)


def with_events(picks, origins):
    """The re-picker's input as an operator has it: the picker's picks and the origins located
    from them, one event per origin."""
    from seqt_plugins.picks.model import Event, EventParameters

    return EventParameters(picks=list(picks), origins=origins,
                           events=[Event(public_id=f"E{k}", preferred_origin_id=o.public_id, origin_ids=[o.public_id])
                                   for k, o in enumerate(origins)])


# --------------------------------------------------------------------------- scoring


def score(picks, labels) -> Dict[str, Dict[str, object]]:
    """Per phase: correct station-phases, wrong picks, unscored picks (see the module doc)."""
    arrivals = [(net, sta, ph, t) for (net, sta, ph), t in labels.items()]
    out = score_arrivals(picks, arrivals)
    for ph in "PS":
        out[ph]["correct"] = {arrivals[i][:3] for i in out[ph].pop("found")}
    return out


SETS = {"arrays": "labelled_arrays", "arrays90": "labelled_arrays 90 s", "arrays40": "labelled_arrays 40 s",
        "single": "single_station 90 s",
        "window": "single_station 60 s", "noise": "single_station 60-s noise",
        "short": "single_station 30 s", "shortnoise": "single_station 30-s noise"}


def event_files(records: List[Record], length: float = 90.0, lead: float = 5.0) -> List[Record]:
    """Each record cut to an event file of ``length`` s starting ``lead`` s before its first
    analyst arrival, as event archives cut records around a catalogue time (60–120-s files
    are common): arrivals then sit in the first seconds of a file and of its only windows."""
    out = []
    for r in records:
        t0 = min(r.labels.values()) - lead
        labels = {key: t for key, t in r.labels.items() if t0 <= t <= t0 + length}
        out.append(Record(r.name, r.stream.slice(t0, t0 + length), labels, r.inventory, r.coordinates))
    return out


def labelled_sets(data: Path, names) -> Dict[str, List[Record]]:
    """The labelled sets named in ``names`` (keys of ``SETS``), read from the data folder."""
    loaders = {"arrays": lambda: labelled_arrays(data / "labelled_arrays"),
               "arrays90": lambda: event_files(labelled_arrays(data / "labelled_arrays")),
               "arrays40": lambda: event_files(labelled_arrays(data / "labelled_arrays"), length=40.0),
               "single": lambda: single_station(data / "single_station"),
               "window": lambda: single_station(data / "single_station", one_window=True),
               "noise": lambda: noise_records(data / "single_station"),
               "short": lambda: short_records(data / "single_station"),
               "shortnoise": lambda: noise_records(data / "single_station", length=3000)}
    return {SETS[n]: loaders[n]() for n in SETS if n in names}


# --------------------------------------------------------------------------- continuous records


def score_arrivals(picks, arrivals) -> Dict[str, Dict[str, object]]:
    """Per phase, against a list of reference arrivals ``(network, station, phase, time)`` that
    may hold several arrivals of one station-phase (a continuous record): each arrival is found
    when a pick of its station-phase lies within ``TOL``; a pick within ``WRONG_WITHIN`` of an
    arrival of its station-phase but within ``TOL`` of none is wrong; other picks are not scored.
    ``found`` holds the indices of the arrivals found."""
    by_sp = defaultdict(list)
    for i, (net, sta, ph, t) in enumerate(arrivals):
        by_sp[(net, sta, ph)].append((t, i))
    out = {ph: {"arrivals": sum(1 for a in arrivals if a[2] == ph), "found": set(), "wrong": 0, "unscored": 0}
           for ph in "PS"}
    for p in picks:
        ph = (p.phase_hint or "")[:1].upper()
        if ph not in "PS":
            continue
        refs = by_sp.get((p.waveform_id.network, p.waveform_id.station, ph), [])
        hits = [i for t, i in refs if abs(p.time - t) <= TOL[ph]]
        if hits:
            out[ph]["found"].update(hits)
        elif any(abs(p.time - t) <= WRONG_WITHIN for t, _ in refs):
            out[ph]["wrong"] += 1
        else:
            out[ph]["unscored"] += 1
    return out


def origin_arrivals(event_parameters) -> List[Tuple[str, str, str, UTCDateTime]]:
    """The picks of ``event_parameters``' origins as reference arrivals (one per origin and
    station-phase, the first associated): the clean record's picks of the noise protocol."""
    by_id = {p.public_id: p for p in event_parameters.picks}
    out, seen = [], set()
    for o in event_parameters.origins:
        for a in o.arrivals:
            p = by_id.get(a.pick_id)
            ph = ((a.phase or (p.phase_hint if p else "")) or "")[:1].upper()
            if p is None or ph not in "PS":
                continue
            key = (p.waveform_id.network, p.waveform_id.station, ph, p.time.ns)
            if key in seen:  # one pick associated with two origins is one arrival
                continue
            seen.add(key)
            out.append((p.waveform_id.network, p.waveform_id.station, ph, p.time))
    return out
