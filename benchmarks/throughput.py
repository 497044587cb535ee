"""Throughput of ``Picker.pick`` against SeisBench's EqT ``classify``, and peak RSS of a station-day.

    PYTHONPATH=. python benchmarks/throughput.py [--hours 6] [--stations 1] [--model both]
        [--seisbench-python /work/venv-sb/bin/python] [--threads 2] [--no-rss] [--rounds 3] [--shared ../shared]

Data: 3-component 100 Hz recordings built by tiling the 5-minute Hengill recording of the
100 Hz station ON.NESJV (real noise and ten local events every 5 minutes), ``--stations``
copies under different station codes. Prints station-days per hour of wall time (and of CPU
time) for ``Picker.pick`` and, in a separate process, for SeisBench's ``EQTransformer.classify``
on the same data at the same overlap with ``--threads`` torch threads, and the ratio.
SeisBench (optional, benchmark only) runs with the interpreter given by ``--seisbench-python``
(e.g. a separate venv with torch + seisbench), or with this one when it can import seisbench.
Its weights are random: pretrained weights cannot be fetched here (no hub access), and the
time of the same architecture does not depend on the weight values.

Side by side, in alternating rounds: windows/s of the picker's models alone (ready batches)
and of the whole pipeline (``Picker.pick``), and the ratio (target: overhead <= 10 % of the
model's time); wall and CPU time.

Then, in a fresh process, the peak RSS of picking one 24-hour station-day through the API
(``Picker.pick`` on the whole day in memory), and what the same process held before picking it
(TensorFlow, the compiled model(s), the day's input Stream), so that the part due to the data is
visible; and the peak RSS of ``seqtpick --ep`` on the same day written as a miniSEED file, as an
operator runs it (the module reads it piece by piece).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from obspy import Stream, Trace, UTCDateTime, read

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T0 = UTCDateTime("2024-03-01T00:00:00")


def make_stream(shared: Path, hours: float, stations: int = 1) -> Stream:
    src = read(str(shared / "data" / "hengill" / "mseed" / "*NESJV*"))
    st = Stream()
    for k in range(stations):
        for tr in src:
            n = int(round(hours * 3600 * tr.stats.sampling_rate))
            data = np.resize(tr.data.astype(np.int32), n)
            st += Trace(data, header={"network": "XX", "station": f"T{k:03d}", "location": "",
                                      "channel": tr.stats.channel, "sampling_rate": tr.stats.sampling_rate,
                                      "starttime": T0})
    return st


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_picker(st: Stream, model: str, overlap: float, batch_size: int, before=None):
    """(wall s, CPU s, picks) of one ``Picker.pick`` over ``st``, after a warm-up."""
    from seqt_plugins.picker import Picker

    picker = Picker(model=model, overlap=overlap, batch_size=batch_size)
    # warm-up: load the model and compile the graph outside the timing
    picker.pick(st.slice(T0, T0 + 70))
    if before is not None:
        before.append(_peak_mb())
    c, t = time.process_time(), time.perf_counter()
    picks = picker.pick(st)
    return time.perf_counter() - t, time.process_time() - c, len(picks)


def run_seisbench(st: Stream, overlap: float, batch_size: int, threads: int):
    """(wall s, CPU s, picks) of SeisBench's EQTransformer.classify over ``st`` (random weights)."""
    import seisbench.models as sbm
    import torch

    torch.set_num_threads(threads)
    model = sbm.EQTransformer()  # untrained: no hub access here; same architecture, same cost
    model.eval()
    kw = dict(overlap=int(round(6000 * overlap)), batch_size=batch_size)
    with torch.no_grad():
        model.classify(st.slice(T0, T0 + 70), **kw)
        c, t = time.process_time(), time.perf_counter()
        out = model.classify(st, **kw)
    return time.perf_counter() - t, time.process_time() - c, len(getattr(out, "picks", []))


def count_windows(picker, st: Stream) -> int:
    """The windows ``picker.pick`` runs EqT on for ``st`` (its pieces, as it cuts them)."""
    from seqt_plugins.picker.prepare import FS, prepare_stream
    from seqt_plugins.picker.windows import plan_windows

    n = 0
    for piece, _a, _b in picker._chunks(st):
        stations = prepare_stream(piece, max_gap=picker.options.max_gap)
        n += len(plan_windows([s.segments for s in stations], picker.step, int(round(picker.options.edge_padding * FS))))
    return n


def model_and_pipeline_rates(st: Stream, model: str = "both", repeat: int = 3, picker=None):
    """Windows/s of the picker's models alone and of ``Picker.pick`` over ``st``, interleaved.

    Model alone: each of the picker's models on ready, normalised batches of its batch size
    (what ``Picker`` calls per batch, nothing else), as many windows as the pipeline runs.
    Pipeline: ``Picker.pick(st)`` (preparation, batching, model, stacking, triggers), timing
    its model calls as well: the wall time outside them over the time inside them is the
    overhead the pipeline adds in that same run, free of the load's drift between runs.
    ``repeat`` alternating rounds; returns per round a dict (model/pipeline windows/s, CPU s
    per window, the in-run overhead) and the window count.
    """
    from seqt_plugins.eqt import normalize_windows
    from seqt_plugins.picker import Picker

    picker = picker or Picker(model=model)
    picker.pick(st.slice(T0, T0 + 70))  # load and compile outside the timing
    n = count_windows(picker, st)
    bs = picker.options.batch_size
    x = normalize_windows(np.random.default_rng(0).standard_normal((bs, 6000, 3)).astype(np.float32))
    inside = [0.0]

    def timed(call):
        def run(*args, **kwargs):
            t = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                inside[0] += time.perf_counter() - t
        return run

    rounds = []
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        for b in range(0, n, bs):
            for m in picker.models:
                m.predict(x[: min(bs, n - b)], batch_size=bs)
        model_wall, model_cpu = time.perf_counter() - t, time.process_time() - c
        inside[0] = 0.0
        for m in picker.models:  # instance attributes, removed below (the graphs are shared)
            m.predict = timed(type(m).predict.__get__(m))
        try:
            c, t = time.process_time(), time.perf_counter()
            picker.pick(st)
            pipe_wall, pipe_cpu = time.perf_counter() - t, time.process_time() - c
        finally:
            for m in picker.models:
                del m.predict
        rounds.append(dict(model=n / model_wall, pipeline=n / pipe_wall, model_cpu=model_cpu / n, pipeline_cpu=pipe_cpu / n,
                           outside=(pipe_wall - inside[0]) / inside[0]))
    return rounds, n


def print_rates(rounds, n, label: str) -> None:
    """One line per round and the medians: the pipeline's rate as a fraction of the model's."""
    import statistics

    for k, r in enumerate(rounds, 1):
        print(f"  round {k}: model alone {r['model']:.1f} windows/s, pipeline {r['pipeline']:.1f} windows/s = "
              f"{r['pipeline'] / r['model']:.3f} of it; CPU per window: model {1e3 * r['model_cpu']:.2f} ms, pipeline "
              f"{1e3 * r['pipeline_cpu']:.2f} ms; in the pipeline run, time outside the model calls "
              f"{100 * r['outside']:.1f} % of that inside")
    med = {k: statistics.median(r[k] if k == "outside" else (r["pipeline"] / r["model"] if k == "wall" else
                                                             r["model_cpu"] / r["pipeline_cpu"]) for r in rounds)
           for k in ("wall", "cpu", "outside")}
    print(f"{label}: {n} windows, medians of {len(rounds)} alternating rounds: pipeline rate / model-only rate "
          f"{med['wall']:.3f} (wall), {med['cpu']:.3f} (CPU); pipeline time outside the model calls "
          f"{100 * med['outside']:.1f} % of the time in them (target <= 10 %)")


def seisbench_child(args) -> None:
    import seisbench
    import torch

    st = make_stream(Path(args.shared), args.hours, args.stations)
    elapsed, cpu, n = run_seisbench(st, args.overlap, args.batch_size, args.threads)
    print(f"SB {elapsed:.3f} {cpu:.3f} {n} seisbench-{seisbench.__version__} torch-{torch.__version__} "
          f"threads-{torch.get_num_threads()}")


def seisbench_python(option):
    """The interpreter to run SeisBench with, or None."""
    if option:
        return option
    try:
        import seisbench  # noqa: F401
    except ImportError:
        return None
    return sys.executable


def rss_child(shared: Path, model: str, overlap: float, batch_size: int) -> None:
    st = make_stream(shared, 24.0, 1)
    before = []
    elapsed, _cpu, n = run_picker(st, model, overlap, batch_size, before)
    print(f"RSS {_peak_mb():.0f} {before[0]:.0f} {elapsed:.1f} {n}")


def cli_rss(shared: Path, model: str, overlap: float, batch_size: int):
    """Peak RSS (MB), wall s and pick count of ``seqtpick --ep`` on a 24-hour day file.

    This is how an operator runs a station-day: the module reads the file piece by piece
    (``picker.chunkLength``), so the day's samples are never all in memory.
    """
    import tempfile

    from seqt_plugins.io.xml import read_event_parameters

    with tempfile.TemporaryDirectory() as tmp:
        day = Path(tmp) / "XX.T000.day.mseed"
        make_stream(shared, 24.0, 1).write(str(day), format="MSEED", encoding="STEIM2")
        out = Path(tmp) / "picks.xml"
        code = ("import resource, sys; from seqt_plugins.modules.seqtpick import main; rc = main(sys.argv[1:]); "
                "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0); sys.exit(rc)")
        cmd = [sys.executable, "-c", code, "--ep", "-o", str(out), "-I", f"file://{day}", "-q", "--playback",
               f"--picker.model={model}", f"--picker.overlap={overlap}", f"--picker.batchSize={batch_size}"]
        t = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        elapsed = time.perf_counter() - t
        peak = [ln.split()[1] for ln in res.stdout.splitlines() if ln.startswith("PEAK ")]
        if res.returncode != 0 or not peak:
            return None, res.stderr.strip().splitlines()[-1:] or res.returncode
        return float(peak[0]), elapsed, len(read_event_parameters(out).picks)


def report_rss(args, shared: Path) -> None:
    """Peak RSS of a 24-hour station-day, each in a fresh process.

    Measured before this process loads TensorFlow: with another TensorFlow process alive the
    child's peak RSS was ~55 MB higher (more of the shared library's pages mapped), which is
    not memory the picker uses.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--rss-child", "--shared", str(shared),
           "--model", args.model, "--overlap", str(args.overlap), "--batch-size", str(args.batch_size)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RSS ")]
    if line:
        _, mb, before_mb, secs, npk = line[0].split()
        print(f"one 24-hour station-day ({args.model}): peak RSS {mb} MB (whole process); {before_mb} MB before "
              f"picking it (TensorFlow, compiled model(s), the day's input Stream), so the picking itself "
              f"adds {int(mb) - int(before_mb)} MB; {secs} s, {npk} picks")
    else:
        print("RSS child failed:", out.stderr.strip().splitlines()[-1:] or out.returncode)
    runs = [cli_rss(shared, args.model, args.overlap, args.batch_size) for _ in range(args.rss_runs)]
    failed = [r for r in runs if r[0] is None]
    if failed:
        print("seqtpick on a day file failed:", failed[0][1])
    else:
        peaks = sorted(r[0] for r in runs)
        print(f"one 24-hour station-day file through seqtpick --ep ({args.model}, read piece by piece), "
              f"{len(runs)} runs: peak RSS {', '.join(f'{mb:.0f}' for mb in peaks)} MB (whole process, TensorFlow "
              f"included; it varies by a few MB from run to run); {runs[0][1]:.1f} s including start-up, "
              f"{runs[0][2]} picks")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("SEQT_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--stations", type=int, default=1)
    ap.add_argument("--model", default="both", help="Picker model: both (the default), conservative, original")
    ap.add_argument("--overlap", type=float, default=0.5)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the Picker's (PickerOptions.batch_size)")
    ap.add_argument("--seisbench-python", default=os.environ.get("SEQT_SEISBENCH_PYTHON"),
                    help="interpreter with torch + seisbench for the comparison (default: this one, if it has seisbench)")
    ap.add_argument("--seisbench-batch-size", type=int, default=None, help="default: same as --batch-size")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for SeisBench")
    ap.add_argument("--rounds", type=int, default=3, help="alternating model-only / pipeline rounds")
    ap.add_argument("--no-rss", action="store_true")
    ap.add_argument("--rss-runs", type=int, default=3, help="seqtpick runs on the day file (peak RSS varies)")
    ap.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--seisbench-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.batch_size is None:
        from seqt_plugins.picker import PickerOptions

        args.batch_size = PickerOptions().batch_size
    shared = Path(args.shared)
    if args.seisbench_child:
        seisbench_child(args)
        return
    if args.rss_child:
        rss_child(shared, args.model, args.overlap, args.batch_size)
        return

    import logging

    logging.basicConfig(level=logging.ERROR)
    st = make_stream(shared, args.hours, args.stations)
    station_days = args.hours / 24.0 * args.stations
    load = os.getloadavg()
    print(f"data: {args.stations} station(s) x {args.hours:g} h, 3 components, 100 Hz; overlap {args.overlap}; "
          f"model {args.model}; batch {args.batch_size}; CPU cores available: {len(os.sched_getaffinity(0))}; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if not args.no_rss:
        report_rss(args, shared)
    from seqt_plugins.picker import Picker

    rounds, windows = model_and_pipeline_rates(
        st, repeat=args.rounds, picker=Picker(model=args.model, overlap=args.overlap, batch_size=args.batch_size))
    print_rates(rounds, windows, f"model-only vs pipeline ({args.model})")
    elapsed, cpu, n = run_picker(st, args.model, args.overlap, args.batch_size)
    del st
    ours = station_days / (elapsed / 3600.0)
    print(f"seqt_plugins Picker.pick ({args.model}): {elapsed:.1f} s wall, {cpu:.1f} s CPU, {n} picks -> "
          f"{ours:.1f} station-days/hour")
    python = seisbench_python(args.seisbench_python)
    if python is None:
        print("SeisBench: not installed (optional; give --seisbench-python); no comparison")
    else:
        sb_batch = args.seisbench_batch_size or args.batch_size
        cmd = [python, str(Path(__file__).resolve()), "--seisbench-child", "--shared", str(shared),
               "--hours", str(args.hours), "--stations", str(args.stations), "--overlap", str(args.overlap),
               "--batch-size", str(sb_batch), "--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("SB ")]
        if not line:
            tail = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
            print(f"SeisBench ({python}) failed: {tail}")
        else:
            _, sb_elapsed, sb_cpu, sb_n, versions = line[0].split(maxsplit=4)
            theirs = station_days / (float(sb_elapsed) / 3600.0)
            print(f"SeisBench EQTransformer.classify ({versions.replace(' ', ', ')}; batch {sb_batch}; RANDOM weights: "
                  f"pretrained weights cannot be fetched here, and throughput does not depend on weight values): "
                  f"{float(sb_elapsed):.1f} s wall, {float(sb_cpu):.1f} s CPU, {sb_n} picks -> {theirs:.1f} station-days/hour")
            print(f"ratio ({args.model} / SeisBench): {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
