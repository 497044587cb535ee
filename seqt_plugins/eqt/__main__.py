"""``python -m seqt_plugins.eqt [FILE]``: run EqT on one recording and print where P and S are.

Without FILE it uses obspy's bundled example event (BW.RJOB, 2009-08-24). A quick check that
the model and the published weights work on this machine; the picker proper is ``seqtpick``.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import obspy  # noqa: E402

from . import load_eqt, normalize_windows  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqt_plugins.eqt", description=__doc__)
    parser.add_argument("file", nargs="?", help="miniSEED (or any obspy format) with E/N/Z of one station")
    parser.add_argument("--model", default="conservative")
    args = parser.parse_args(argv)
    st = obspy.read(args.file) if args.file else obspy.read()
    st.merge(fill_value=0)
    st.detrend("demean")
    st.filter("bandpass", freqmin=1.0, freqmax=45.0, corners=2, zerophase=True)
    st.interpolate(100.0) if any(tr.stats.sampling_rate != 100.0 for tr in st) else None
    start = min(tr.stats.starttime for tr in st)
    x = np.zeros((1, 6000, 3), np.float32)
    for col, comps in enumerate(("E1", "N2", "Z3")):
        sel = [tr for tr in st if tr.stats.channel[-1] in comps]
        if sel:
            data = sel[0].data[:6000]
            x[0, : len(data), col] = data
    det, p, s = load_eqt(args.model).predict(normalize_windows(x))
    print(f"{st[0].id[:-1]}? from {start}: detection max {det.max():.2f}")
    for phase, prob in (("P", p[0]), ("S", s[0])):
        i = int(prob.argmax())
        print(f"  {phase} at {start + i / 100.0} (probability {prob[i]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
