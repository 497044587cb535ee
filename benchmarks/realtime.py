"""Real-time picking against offline picking of the same data: CPU, windows, latency, picks.

    PYTHONPATH=. python benchmarks/realtime.py [--stations 20] [--tile 3] [--model both]
        [--repeats 3] [--delay 2] [--jitter 1] [--steps 30,60] [--baseline 17e652a] [--copies 1]
        [--quiet] [--outage NET.STA[.CHA]:START:END] [--shared ../shared]

Data: the Hengill recording (``shared/data/hengill``, 20 stations x 5 min, 100 and 200 Hz),
each trace repeated ``--tile`` times end to end (a longer continuous stream, so that the first
and last minute weigh less; ``--quiet``: each trace's phases then randomized, the same noise
without the earthquakes, as a network's quiet hours), cut into 512-byte miniSEED records as a SeedLink server sends
them; ``--copies K`` repeats the stations K times under networks X1, X2, ... (a larger
network whose real-time model batches are fuller). Each record *arrives* at its end time plus
``--delay`` s plus a uniform random 0..``--jitter`` s (seeded), and the real-time core is fed
the records in arrival order with a simulated clock (the arrival time), so latency = arrival
of the record that made a pick final minus the pick time: the data's delay plus what the core
waits for, not its computing time (CPU is reported separately). Offline picking runs
``StationPicker.pick`` on the whole stream, once as the picker runs it (``offline``: a
thread prepares the next stations while EqT runs) and once without that thread (``off-seq``:
less CPU, more wall time; the process CPU of its model calls is theirs alone, while
``offline``'s also counts the thread's preparation).

Per run: CPU seconds (``time.process_time``) per station-hour of data, the part inside the
model calls, EqT windows encoded and model calls, pick latency (median, 95th percentile), and
whether the picks equal the offline picks (same IDs). The cores run interleaved
(offline, off-seq, the new core at each ``--steps`` pass step, the baseline; rotated each repeat) and
the medians and ratios are printed.
``--baseline REV`` loads ``seqt_plugins/scale/realtime.py`` of that git revision (the core that
re-picked a 180 s buffer per 30 s region, station by station) beside the current one;
``--baseline ''`` skips it. ``--outage NET.STA[.CHA]:START:END`` drops that station's (or
channel's) records from START to END seconds into the recording, for every core alike, and
prints when its picks before the outage came out.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from obspy import Stream, read

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASELINE = "17e652a"  # main before the streaming core: regions re-picked from a ring buffer


def quieted(data: np.ndarray, rng) -> np.ndarray:
    """The trace's amplitude spectrum with random phases: its noise level and colour, without
    the earthquakes (a network's quiet hours; the Hengill snippet holds ten events in five
    minutes)."""
    spec = np.fft.rfft(data.astype(np.float64) - data.mean())
    phase = np.exp(2j * np.pi * rng.random(len(spec)))
    phase[0] = 1.0
    return np.round(np.fft.irfft(np.abs(spec) * phase, n=len(data))).astype(np.int32)


def load_stream(shared: Path, stations: int, tile: int, copies: int = 1, quiet: bool = False) -> Stream:
    files = sorted((shared / "data" / "hengill" / "mseed").glob("*.mseed"))
    st = Stream()
    for f in files:
        st += read(str(f))
    codes = sorted({(tr.stats.network, tr.stats.station) for tr in st})[:stations]
    st = Stream([tr for tr in st if (tr.stats.network, tr.stats.station) in codes])
    st.merge(method=1, fill_value="interpolate")
    rng = np.random.default_rng(7)
    for tr in st:
        tr.data = np.tile(tr.data.astype(np.int32), tile)
        if quiet:
            tr.data = quieted(tr.data, rng)
    copied = Stream()
    for k in range(1, copies):  # a larger network: the same stations again under network Xk
        for tr in st:
            c = tr.copy()
            c.stats.network = f"X{k}"
            copied.append(c)
    return st + copied


def packets(st: Stream, delay: float, jitter: float, seed: int = 1):
    """(arrival time, Trace) of each 512-byte record of ``st``, in arrival order."""
    rng = random.Random(seed)
    out = []
    for tr in st:
        buf = io.BytesIO()
        tr.write(buf, format="MSEED", reclen=512, encoding="STEIM2")
        raw = buf.getvalue()
        for i in range(0, len(raw), 512):
            rec = read(io.BytesIO(raw[i:i + 512]))[0]
            out.append((rec.stats.endtime.timestamp + delay + rng.uniform(0, jitter), rec))
    out.sort(key=lambda item: (item[0], item[1].id))
    return out


class Counting:
    """Wraps a picker's model call: windows, calls and CPU seconds inside it."""

    def __init__(self, picker):
        self.picker, self.inner = picker, picker._predict
        self.windows = self.calls = 0
        self.cpu = 0.0
        picker._predict = self

    def __call__(self, x):
        c = time.process_time()
        out = self.inner(x)
        self.cpu += time.process_time() - c
        self.windows += len(x)
        self.calls += 1
        return out

    def reset(self):
        self.windows = self.calls = 0
        self.cpu = 0.0


def load_baseline(rev: str):
    """The RealtimePicker class of ``seqt_plugins/scale/realtime.py`` at git revision ``rev``."""
    try:
        code = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:seqt_plugins/scale/realtime.py"],
                              check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"baseline {rev}: not available ({exc}); skipped")
        return None
    name = "seqt_plugins.scale._realtime_baseline"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "seqt_plugins.scale"
    sys.modules[name] = module
    exec(compile(code, f"{rev}:seqt_plugins/scale/realtime.py", "exec"), module.__dict__)
    return module.RealtimePicker


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(np.ceil(q * len(v))) - 1))] if v else float("nan")


def run_offline(picker, counter, st, prefetch: bool = True):
    """Offline picking of the whole stream. ``prefetch=False``: without the thread that
    prepares the next stations while EqT runs, so the model calls' CPU is theirs alone (the
    process CPU time of a call also counts that thread's work)."""
    from seqt_plugins.picker.perstation import StationPicker

    counter.reset()
    saved, picker.prefetch = picker.prefetch, prefetch
    c = time.process_time()
    try:
        picks = StationPicker(picker).pick(st)
    finally:
        picker.prefetch = saved
    return {"cpu": time.process_time() - c, "model": counter.cpu, "windows": counter.windows,
            "calls": counter.calls, "picks": picks, "latency": []}


def run_realtime(cls, picker, counter, feed, **options):
    counter.reset()
    clock = {"now": 0.0}
    rt = cls(picker, clock=lambda: clock["now"], **options)
    picks, emitted = [], {}  # emitted: pick ID -> the clock when it came out
    c = time.process_time()
    for arrival, tr in feed:
        clock["now"] = arrival
        new = rt.feed(tr)
        picks += new
        emitted.update((p.public_id, arrival) for p in new)
    new = rt.flush()
    picks += new
    emitted.update((p.public_id, clock["now"]) for p in new)
    return {"cpu": time.process_time() - c, "model": counter.cpu, "windows": counter.windows,
            "calls": counter.calls, "picks": picks, "latency": list(rt.latencies), "emitted": emitted}


def outage_filter(spec: str, t0):
    """``NET.STA[.CHA]:START:END`` (seconds after ``t0``) -> a test of a record's stats: whether
    it falls in the outage (the station, or only that channel, sends nothing then)."""
    try:
        code, a, b = spec.split(":")
        parts = code.split(".")
        net, sta, cha = parts[0], parts[1], (parts[2] if len(parts) > 2 else None)
        a, b = float(a), float(b)
    except (ValueError, IndexError):
        raise SystemExit(f"--outage {spec!r}: expected NET.STA[.CHA]:START:END")

    def dropped(s):
        return (s.network == net and s.station == sta and (cha is None or s.channel == cha)
                and t0 + a < s.endtime and s.starttime < t0 + b)

    return dropped, net, sta, t0 + a


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("SEQT_SHARED", ROOT.parent / "shared")))
    ap.add_argument("--stations", type=int, default=20)
    ap.add_argument("--tile", type=int, default=3, help="repeat the 5 min recording this many times")
    ap.add_argument("--copies", type=int, default=1,
                    help="a larger network: the stations this many times, each copy under its own network "
                         "code (fuller model batches in real time; the data repeat)")
    ap.add_argument("--model", default="both")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--delay", type=float, default=2.0, help="s from a record's end to its arrival")
    ap.add_argument("--jitter", type=float, default=1.0, help="random extra delay, 0..JITTER s")
    ap.add_argument("--steps", default="30,60", help="the new core's pass steps (s), comma-separated")
    ap.add_argument("--quiet", action="store_true",
                    help="the recording with its phases randomized: the same noise, no earthquakes")
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the old core ('' to skip)")
    ap.add_argument("--outage", default="",
                    help="NET.STA[.CHA]:START:END: that station (or channel) sends nothing from START to END s "
                         "into the recording; prints when its picks before the outage came out")
    args = ap.parse_args(argv)

    import logging

    logging.basicConfig(level=logging.ERROR)
    from seqt_plugins.picker import Picker
    from seqt_plugins.scale.realtime import RealtimePicker

    st = load_stream(args.shared, args.stations, args.tile, args.copies, args.quiet)
    feed = packets(st, args.delay, args.jitter)
    outage = None
    if args.outage:
        t0 = min(tr.stats.starttime for tr in st)
        dropped, o_net, o_sta, o_start = outage = outage_filter(args.outage, t0)
        feed = [(t, tr) for t, tr in feed if not dropped(tr.stats)]
        st = Stream([tr.copy() for _, tr in feed]).merge(method=-1)  # offline: the same data
    n_sta = len({(tr.stats.network, tr.stats.station) for tr in st})
    hours = max(tr.stats.endtime - tr.stats.starttime for tr in st) / 3600.0
    station_hours = n_sta * hours
    picker = Picker(model=args.model)
    counter = Counting(picker)
    print(f"{n_sta} stations x {hours * 60:.0f} min ({station_hours:.2f} station-hours), {len(feed)} records, "
          f"model {args.model}, batch {picker.options.batch_size}, delay {args.delay:g}+0..{args.jitter:g} s")
    run_offline(picker, counter, st)  # warm-up: models loaded, graphs traced

    cores = {"offline": lambda: run_offline(picker, counter, st),
             "off-seq": lambda: run_offline(picker, counter, st, prefetch=False)}
    for step in [float(x) for x in args.steps.split(",") if x.strip()]:
        cores[f"new@{step:g}"] = (lambda step=step: run_realtime(RealtimePicker, picker, counter, feed, step=step))
    old = load_baseline(args.baseline) if args.baseline else None
    if old is not None:
        cores["old"] = lambda: run_realtime(old, picker, counter, feed)
    names = list(cores)
    results = {name: [] for name in names}
    for r in range(args.repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            res = cores[name]()
            results[name].append(res)
            print(f"  run {r + 1} {name:9s} CPU {res['cpu']:7.2f} s (model {res['model']:6.2f} s), "
                  f"{res['windows']} windows in {res['calls']} calls, {len(res['picks'])} picks", flush=True)

    offline_ids = {p.public_id for p in results["offline"][0]["picks"]}
    print(f"\n{'core':9s} {'CPU s/sta-h':>11s} {'model s/sta-h':>13s} {'x offline':>9s} {'windows':>8s} "
          f"{'calls':>6s} {'lat. med':>8s} {'lat. p95':>8s}  picks vs offline")
    for name in names:
        rs = results[name]
        cpu = statistics.median(r["cpu"] for r in rs)
        model = statistics.median(r["model"] for r in rs)
        ratios = [r["cpu"] / o["cpu"] for r, o in zip(rs, results["offline"])]
        lat = rs[0]["latency"]
        ids = {p.public_id for p in rs[0]["picks"]}
        same = "identical" if ids == offline_ids else (f"{len(ids & offline_ids)} same, {len(ids - offline_ids)} "
                                                      f"extra, {len(offline_ids - ids)} missing")
        dup = len(rs[0]["picks"]) - len(ids)
        print(f"{name:9s} {cpu / station_hours:11.3f} {model / station_hours:13.3f} {statistics.median(ratios):9.2f} "
              f"{rs[0]['windows']:8d} {rs[0]['calls']:6d} "
              f"{statistics.median(lat) if lat else float('nan'):8.1f} {percentile(lat, 0.95):8.1f}  "
              f"{same}{f', {dup} emitted twice' if dup else ''}")
    for name in names:
        if old is not None and name.startswith("new"):
            ratios = [o["cpu"] / n["cpu"] for o, n in zip(results["old"], results[name])]
            print(f"old / {name} CPU (same repeat): median {statistics.median(ratios):.2f} "
                  f"({', '.join(f'{x:.2f}' for x in ratios)})")
    print("x offline: median over repeats of the ratio to the offline run of the same repeat; off-seq: offline "
          "without the prefetch thread (its model CPU is the model calls' alone)")
    if outage is not None:
        before = [p for p in results["offline"][0]["picks"]
                  if (p.waveform_id.network, p.waveform_id.station) == (o_net, o_sta) and p.time < o_start]
        print(f"outage {args.outage}: {len(before)} offline pick(s) of {o_net}.{o_sta} before it; latency "
              "(emission clock minus pick time) in each real-time core:")
        for name in names:
            if "emitted" not in results[name][0]:
                continue
            emitted = results[name][0]["emitted"]
            lat = sorted(emitted[p.public_id] - p.time.timestamp for p in before if p.public_id in emitted)
            print(f"  {name:9s} " + (f"median {statistics.median(lat):.1f} s, max {lat[-1]:.1f} s, "
                                     f"{len(lat)} of {len(before)} emitted" if lat else "none emitted"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
