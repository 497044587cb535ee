"""Picker and re-picker accuracy against analyst picks (never against this project's own picks).

    PYTHONPATH=. python benchmarks/accuracy.py [--shared ../shared] [--noise 1,3,10] [--curve]
                                               [--detail] [--sets arrays,arrays90,arrays40,single,window,noise,short,shortnoise,hengill]
                                               [--degrade 3,10,30] [--repick-curve] [--leave-one-out]

Data (../shared/data):
- ``labelled_arrays``: five earthquakes on four real networks with analyst P and S picks; also
  cut to 90-s event files whose first analyst arrival is 5 s after the file start (``arrays90``)
  and to 40-s ones (``arrays40``: shorter than one window, padded by both engines), and with one station at a time made noisier while the others stay as recorded (``--degrade``);
- ``single_station``: 154 labelled 90-s records, each cut to a seeded random start 0–20 s after the
  file start (P is at 30 s in every file), and the same records cut to exactly one 60-s window
  (6,000 samples) around the arrivals, as STEAD-format files are; ``noise``: a 60-s record of pure
  noise per single-station record (its own pre-event noise folded to 6,000 samples), scored by
  the records that get any pick (the false alarms of STEAD's noise records); ``short``: the
  records cut to 30 s (P 3-10 s in), shorter than one window, and ``shortnoise``: 30-s noise.

Noise protocol: the record as recorded (1x), and with real noise added so that each trace's SNR
drops by the factor k (3x, 10x): noise cut from the same trace before its first labelled arrival
(pre-event noise, constant padding left out), tiled to the record's length from seeded random offsets and scaled by
sqrt(k^2 - 1) (independent noise adds in power: noise rms x k).

Scoring, per phase: a pick within 0.5 s (P) / 1.0 s (S) of the analyst pick of its station and
phase is correct; a pick of that station-phase farther away, but within 5 s of the analyst pick,
is wrong; every other pick is not scored (the records hold unlabelled events, and an unlabelled
station-phase is no proof that nothing arrived). Recall = correct / analyst picks; precision =
correct / (correct + wrong).

Pipeline, as an operator runs it: the picker with its defaults (``PickerOptions()``); events
located from those picks alone (``seqt_plugins.catalog.locate``, a grid search: never the
analyst origins or picks); the re-picker with its defaults (``RepickerOptions()``) on those
origins. Printed per data set and noise level: arrivals, picker correct, missed, re-picker
recovered (re-picks correct at station-phases the picker missed), re-picks wrong, re-picks not
scored, gain = recovered / picker correct, precision of the added picks; with ``--curve`` the
picker's recall and precision at each threshold.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import List, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqt_plugins.evaluation import (TOL, WRONG_WITHIN, Record, add_noise, analyst_origins,  # noqa: E402
                                     events_found, labelled_sets, match_origins, score, with_events)
from seqt_plugins.picker import Picker  # noqa: E402

def fmt_ratio(a, b):
    return f"{a / b:.3f}" if b else "  -  "


# --------------------------------------------------------------------------- runs


def pick_records(picker: Picker, records: List[Record]):
    """Probabilities per record (one EqT pass each), to trigger at any threshold."""
    return [picker.probabilities(r.stream, r.inventory) for r in records]


@contextmanager
def thresholds_set(picker, thr):
    """The picker's (detection, P's detection, P, S) thresholds set to ``thr`` inside the block."""
    o = picker.options
    saved = (o.detection_threshold, o.p_detection_threshold, o.p_threshold, o.s_threshold)
    o.detection_threshold, o.p_detection_threshold, o.p_threshold, o.s_threshold = thr
    try:
        yield
    finally:
        o.detection_threshold, o.p_detection_threshold, o.p_threshold, o.s_threshold = saved


def picker_curve(picker, records, probs, thresholds):
    rows = []
    for thr in thresholds:
        tot = {ph: [0, 0, 0] for ph in "PS"}
        with thresholds_set(picker, thr):
            for r, pr in zip(records, probs):
                s = score(picker.picks_from_probabilities(pr)[0], r.labels)
                for ph in "PS":
                    tot[ph][0] += len(s[ph]["correct"])
                    tot[ph][1] += s[ph]["wrong"]
                    tot[ph][2] += s[ph]["arrivals"]
        rows.append((thr, tot))
    return rows


def search_outcomes(r: Record, base, repicker) -> List[tuple]:
    """For every searched station-phase the picker missed (analyst-labelled): the best template
    score and the best EqT probability inside its search interval, each with the verdict of a
    re-pick there (``correct``, ``wrong`` or ``other``: farther than 5 s, another arrival), so a
    threshold curve of the re-picker can be drawn from one run (``--repick-curve``)."""
    out = []
    for s in repicker.last_searches:
        key = (s.network, s.station, s.phase)
        t = r.labels.get(key)
        if t is None or key in base[s.phase]["correct"]:
            continue
        if s.onset_searched[1] <= s.onset_searched[0] and s.eqt_searched[1] <= s.eqt_searched[0]:
            continue

        def verdict(trace, span):  # each path over the samples it searched
            i0, i1 = span
            if trace is None or i1 <= i0:
                return float("-inf"), "other"
            j = i0 + int(np.argmax(trace[i0:i1]))
            err = abs(s.window_start + j / 100.0 - t)
            return float(trace[j]), "correct" if err <= TOL[s.phase] else "wrong" if err <= WRONG_WITHIN else "other"

        out.append((s.phase, key, verdict(s.template_trace, s.searched), verdict(s.eqt_trace, s.eqt_searched),
                    verdict(s.onset_trace, s.onset_searched)))
    return out


def print_repick_curve(outcomes, arrivals_missed) -> None:
    """Recall of the picker's misses and precision of the re-picks per threshold, per path."""
    for path, idx, thresholds in (("template z", 2, (2, 3, 4, 5, 6, 8)), ("EqT p", 3, (0.02, 0.05, 0.1, 0.2, 0.3)),
                                  ("onset ratio", 4, (2, 2.5, 3, 4, 5, 6, 8))):
        print(f"  re-pick curve, {path} alone (best of a station-phase's searches; recovered / wrong of the misses):")
        for ph in "PS":
            best = {}
            for o in outcomes:
                if o[0] == ph and (o[1] not in best or o[idx][0] > best[o[1]][0]):
                    best[o[1]] = o[idx]
            cells = []
            for thr in thresholds:
                ok = sum(1 for v, w in best.values() if v >= thr and w == "correct")
                bad = sum(1 for v, w in best.values() if v >= thr and w == "wrong")
                cells.append(f"{thr:g}: {ok}/{bad}")
            print(f"    {ph} (missed {arrivals_missed[ph]}, searched {len(best)}): " + ", ".join(cells))


def repick_records(records, picks_per_record, repicker, locate_kwargs, detail=False, diagnose=False, outcomes=None,
                   coordinates=True):
    """Locate each record's events from the picker's picks, re-pick, score the added picks.
    ``coordinates=False``: the re-picker gets no station coordinates (an operator who passes
    no inventory to seqtrepick); the origins are still located with them."""
    from seqt_plugins.catalog.locate import locate_events

    tot = {ph: {"recovered": 0, "wrong": 0, "unscored": 0, "searched_missed": 0} for ph in "PS"}
    searched_total = defaultdict(int)  # the re-picker's own counts: searched, and why not
    n_origins = 0
    lines = []
    funnel_in = ([], [])  # the misses and the searches of all records
    for r, picks in zip(records, picks_per_record):
        origins = locate_events(picks, r.coordinates, **locate_kwargs)
        n_origins += len(origins)
        if not origins:
            lines.append(f"  {r.name}: no origin located from {len(picks)} picks")
            if diagnose:  # its misses count as not searched
                base = score(picks, r.labels)
                funnel_in[0].extend((net, sta, ph, t) for (net, sta, ph), t in r.labels.items()
                                    if (net, sta, ph) not in base[ph]["correct"])
            continue
        ep = with_events(picks, origins)
        if coordinates:
            repicker.repick(ep, r.stream, inventory=r.inventory, coordinates=r.coordinates)
        else:
            repicker.repick(ep, r.stream)
        new = [res.pick for res in repicker.last_results]
        for key, n in repicker.search_counts.items():
            searched_total[key] += n
        base = score(picks, r.labels)
        s = score(new, r.labels)
        for ph in "PS":
            rec = s[ph]["correct"] - base[ph]["correct"]
            tot[ph]["recovered"] += len(rec)
            tot[ph]["wrong"] += s[ph]["wrong"]
            tot[ph]["unscored"] += s[ph]["unscored"]
        if detail:
            o = origins[0]
            lines.append(f"  {r.name}: {len(origins)} origin(s), first {o.time} {o.latitude:.3f} {o.longitude:.3f} "
                         f"{(o.depth or 0) / 1000:.1f} km, {len(o.arrivals)} arrivals")
            for res in repicker.last_results:
                p = res.pick
                key = (p.waveform_id.network, p.waveform_id.station, p.phase_hint)
                lab = r.labels.get(key)
                was = "picker had it" if key in base[p.phase_hint]["correct"] else "missed by picker"
                err = f"{p.time - lab:+.2f} s" if lab is not None else "no label"
                lines.append(f"    {p.waveform_id.station:6s} {p.phase_hint} {res.path:11s} score {res.score:6.2f} "
                             f"{err:9s} ({was})")
        if diagnose:
            lines.extend(diagnose_misses(r, picks, base, repicker))
            missed = [(net, sta, ph, t) for (net, sta, ph), t in r.labels.items() if (net, sta, ph) not in base[ph]["correct"]]
            funnel_in[0].extend(missed)
            funnel_in[1].extend(repicker.last_searches)
        if outcomes is not None:
            outcomes.extend(search_outcomes(r, base, repicker))
    if diagnose:
        lines.append("  where the misses were lost (all records):")
        lines.extend(funnel(funnel_in[0], funnel_in[1], repicker.options.z_threshold))
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(searched_total.items()) if v)
    lines.insert(0, f"  station-phases (the re-picker's log, all records): {reasons or 'none'}")
    return tot, n_origins, lines


def leave_one_out(records, picks_per_record, make_repicker, locate_kwargs):
    """Each located station hidden in turn (all its picks removed from the input and from every
    origin's arrivals), every origin re-picked from the others, the re-picks at that station
    scored against its analyst picks.

    The hidden arrivals are ones the picker found, so this measures the template path where the
    latent features do see the arrival (what S-EqT's correlation can do at best), not recall of
    real misses; the main table above measures that.
    """
    import copy

    from seqt_plugins.catalog.locate import locate_events

    tot = {ph: {"hidden": 0, "correct": 0, "wrong": 0} for ph in "PS"}
    by_path = defaultdict(lambda: [0, 0])
    for r, picks in zip(records, picks_per_record):
        origins = locate_events(picks, r.coordinates, **locate_kwargs)
        if not origins:
            continue
        by_id = {p.public_id: p for p in picks}
        associated = {a.pick_id for o in origins for a in o.arrivals}
        stations = sorted({(by_id[i].waveform_id.network, by_id[i].waveform_id.station) for i in associated})
        rp = make_repicker()
        for ns in stations:
            keep = [p for p in picks if (p.waveform_id.network, p.waveform_id.station) != ns]
            kept = {p.public_id for p in keep}
            hidden = {(ns[0], ns[1], by_id[i].phase_hint) for i in associated if i not in kept}
            trimmed = []
            for o in origins:
                o2 = copy.deepcopy(o)
                o2.arrivals = [a for a in o2.arrivals if a.pick_id in kept]
                if o2.arrivals:
                    trimmed.append(o2)
            ep = with_events(keep, trimmed)
            rp.repick(ep, r.stream, inventory=r.inventory, coordinates=r.coordinates)
            best = {}
            for res in rp.last_results:  # the re-pick nearest the analyst pick of each station-phase
                p = res.pick
                key = (p.waveform_id.network, p.waveform_id.station, p.phase_hint)
                if key in hidden and key in r.labels:
                    err = abs(p.time - r.labels[key])
                    if key not in best or err < best[key][0]:
                        best[key] = (err, res.path)
            for key, (err, path) in best.items():
                if err > WRONG_WITHIN:
                    continue  # another arrival (an unlabelled event): not scored, as above
                ok = err <= TOL[key[2]]
                tot[key[2]]["correct" if ok else "wrong"] += 1
                by_path[path][0 if ok else 1] += 1
            for key in hidden:
                if key in r.labels:
                    tot[key[2]]["hidden"] += 1
    return tot, dict(by_path)


def degrade_stations(records, picker, make_repicker, factors, locate_kwargs):
    """One station at a time made noisier (its own pre-event noise, SNR / k), the others as
    recorded: the case S-EqT was made for, a weak station beside well-picked ones.

    Per case: the picker runs on the degraded station; events are located from all stations'
    picks (the degraded one's included, never analyst origins); the re-picker searches; the
    degraded station's labelled arrivals the picker missed are scored. Returns, per factor, the
    totals per phase and the search outcomes (for ``print_repick_curve``) and the re-picks by
    path: {path: [correct, wrong]}.
    """
    from seqt_plugins.catalog.locate import locate_events
    from seqt_plugins.evaluation import weaken_stations

    out = {}
    record_picks = [picker.pick(r.stream, r.inventory) for r in records]  # the same at every factor
    for k in factors:
        tot = {ph: {"missed": 0, "searched": 0, "recovered": 0, "wrong": 0, "unsearched": defaultdict(int)}
               for ph in "PS"}
        outcomes, by_path = [], defaultdict(lambda: [0, 0])
        for i, r in enumerate(records):
            for weak in weaken_stations(r, picker, k, seed=i + 1, record_picks=record_picks[i]):
                labels, missed, picks, stream = weak.labels, weak.missed, weak.all_picks, weak.stream
                base = score(weak.picks, labels)
                for key in missed:
                    tot[key[2]]["missed"] += 1
                origins = locate_events(picks, r.coordinates, **locate_kwargs)
                if not origins:
                    for key in missed:
                        tot[key[2]]["unsearched"]["no origin located"] += 1
                    continue
                ep = with_events(picks, origins)
                rp = make_repicker()
                rp.keep_searches = True
                rp.repick(ep, stream, inventory=r.inventory, coordinates=r.coordinates)
                case = Record(r.name, stream, labels, r.inventory, r.coordinates)
                found = search_outcomes(case, base, rp)
                outcomes.extend(found)
                searched = {o[1] for o in found}
                for key in searched:
                    tot[key[2]]["searched"] += 1
                for key in set(missed) - searched:  # why not: the station's own pick, or the search's
                    own = [p for p in weak.picks if p.phase_hint == key[2] and abs(p.time - labels[key]) <= WRONG_WITHIN]
                    tot[key[2]]["unsearched"][f"a wrong pick of the phase within {WRONG_WITHIN:g} s" if own else "other"] += 1
                s = score([x.pick for x in rp.last_results], labels)
                for ph in "PS":
                    tot[ph]["recovered"] += len(s[ph]["correct"] - base[ph]["correct"])
                    tot[ph]["wrong"] += s[ph]["wrong"]
                for x in rp.last_results:
                    key = (x.pick.waveform_id.network, x.pick.waveform_id.station, x.pick.phase_hint)
                    if key in missed:
                        err = abs(x.pick.time - labels[key])
                        if err <= WRONG_WITHIN:
                            by_path[x.path][0 if err <= TOL[key[2]] else 1] += 1
        out[k] = (tot, outcomes, dict(by_path))
    return out


def at_and_elsewhere(trace, span, a: int, b: int) -> Tuple[float, float]:
    """A search trace's maximum in [a, b) (around the true arrival) and its maximum over the
    rest of the searched ``span`` (nan where nothing else was searched)."""
    rest = np.concatenate([trace[span[0]:a], trace[b:span[1]]])
    return float(trace[a:b].max()), float(rest.max()) if len(rest) else float("nan")


def diagnose_misses(r: Record, picks, base, repicker) -> List[str]:
    """Where each arrival the picker missed was lost, stage by stage (``--diagnose``)."""
    out = []
    by_sp = defaultdict(list)
    for s in repicker.last_searches:
        by_sp[(s.network, s.station, s.phase)].append(s)
    for key, t in sorted(r.labels.items(), key=lambda kv: kv[1]):
        ph = key[2]
        if key in base[ph]["correct"]:
            continue
        recs = by_sp.get(key, [])
        if not recs:
            out.append(f"    MISS {key[1]:6s} {ph}: not searched (no origin searched this station-phase)")
            continue
        s = min(recs, key=lambda s: abs(s.interval[0] + (s.interval[1] - s.interval[0]) / 2 - t))
        j = int(round((t - s.window_start) * 100.0))
        inside = s.interval[0] <= t <= s.interval[1]
        in_window = s.searched[0] <= j < s.searched[1]
        tol = int(TOL[ph] * 100)
        desc = [f"interval {'holds' if inside else 'misses'} it ({s.interval[0] - t:+.1f}/{s.interval[1] - t:+.1f} s)",
                f"searched part of window {'holds' if in_window else 'misses'} it"]
        desc.append(f"templates {len(s.templates)} ({','.join(x.split(':')[1][0] for x in s.templates)})")
        if 0 <= j < 6000:
            a, b = max(0, j - tol), min(6000, j + tol + 1)
            if s.template_trace is not None:
                at, best = at_and_elsewhere(s.template_trace, s.searched, a, b)
                desc.append(f"z at truth {at:.1f}, best elsewhere {best:.1f}")
            e0, e1 = s.eqt_searched
            desc.append(f"EqT p at truth {float(s.eqt_trace[a:b].max()):.3f}"
                        + ("" if e0 <= j < e1 else " (in the start zone: not searched by the EqT path)"))
            o0, o1 = s.onset_searched
            if s.onset_trace is not None and o0 <= j < o1:
                at, best = at_and_elsewhere(s.onset_trace, s.onset_searched, a, b)
                desc.append(f"onset ratio at truth {at:.1f}, best elsewhere {best:.1f}")
        desc.append(f"kept: {s.result or 'nothing'}")
        out.append(f"    MISS {key[1]:6s} {ph}: " + "; ".join(desc))
    return out


def funnel(missed, searches, z_threshold: float) -> List[str]:
    """Stage-by-stage counts of where the picker's misses were lost in the re-picker.

    ``missed``: reference arrivals ``(network, station, phase, time)`` the picker did not find;
    ``searches``: the re-picker's ``SearchRecord`` list. A miss counts as searched when a search
    of its station-phase has its interval centre within 10 s of it (else the search belongs to
    another event)."""
    by_sp = defaultdict(list)
    for s in searches:
        by_sp[(s.network, s.station, s.phase)].append(s)
    rows = {ph: defaultdict(int) for ph in "PS"}
    kinds = {ph: defaultdict(int) for ph in "PS"}
    for net, sta, ph, t in missed:
        c = rows[ph]
        c["missed"] += 1
        recs = [s for s in by_sp.get((net, sta, ph), [])
                if abs(s.interval[0] + (s.interval[1] - s.interval[0]) / 2 - t) <= 10.0]
        if not recs:
            continue
        c["searched"] += 1
        s = min(recs, key=lambda s: abs(s.interval[0] + (s.interval[1] - s.interval[0]) / 2 - t))
        if s.interval[0] <= t <= s.interval[1]:
            c["interval holds it"] += 1
        j = int(round((t - s.window_start) * 100.0))
        if not s.searched[0] <= j < s.searched[1]:
            continue
        c["searched part of window holds it"] += 1
        kinds[ph][f"{sum(1 for x in s.templates if x.endswith(':full'))} full + "
                  f"{sum(1 for x in s.templates if x.endswith(':phase-only'))} phase-only"] += 1
        tol = int(TOL[ph] * 100)
        a, b = max(s.searched[0], j - tol), min(s.searched[1], j + tol + 1)
        if s.template_trace is not None:
            at, best = at_and_elsewhere(s.template_trace, s.searched, a, b)
            if not at <= best:  # highest at the arrival, or nothing else searched (nan)
                c["template z highest at the arrival"] += 1
                if at >= z_threshold:
                    c[f"... and z >= {z_threshold:g}"] += 1
        e0, e1 = s.eqt_searched
        if e0 <= j < e1:  # the EqT path does not read a window's start zone
            p = float(s.eqt_trace[max(e0, j - tol):min(e1, j + tol + 1)].max())
            for thr in (0.02, 0.1, 0.2):
                if p >= thr:
                    c[f"EqT p at the arrival >= {thr:g}"] += 1
        else:
            c["arrival in the EqT path's start zone"] += 1
        if s.result:
            c[f"re-picked ({s.result})"] += 1
    out = []
    for ph in "PS":
        out.append(f"  {ph}: " + ", ".join(f"{k} {v}" for k, v in rows[ph].items()))
        if kinds[ph]:
            out.append("     templates where searched: " + ", ".join(f"{k}: {v}" for k, v in sorted(kinds[ph].items())))
    return out


def hengill_noise(root: Path, picker, make_repicker, factors, diagnose: bool = False, associator=()) -> None:
    """The noise protocol on the continuous Hengill array, which has no analyst picks.

    ``seqt-catalog``'s pipeline (EqT → PyOcto with the site's 1-D model → re-pick → PyOcto) on
    the clean 5-minute record gives the reference: the picks its first association put into
    origins. The same pipeline then runs with the record's own quiet noise added (SNR ÷ k), and
    the picker's and the re-picker's picks are scored against that reference. Recall here means
    agreement with the clean record's picks, not with an analyst."""
    from seqt_plugins.catalog import AssociatorOptions, CatalogPipeline
    from seqt_plugins.evaluation import origin_arrivals, score_arrivals
    from seqt_plugins.repick_case import load_hengill

    stream, inv, coords = load_hengill(root)
    assoc = AssociatorOptions(velocity_model=str(root / "velocity_model.txt"),
                              **field_overrides(AssociatorOptions(), associator))
    clean = CatalogPipeline(associator_options=assoc, picker=picker, repick=False)
    clean.run(stream, inv, coords)
    ref = origin_arrivals(clean.stages.first)
    print(f"\n== hengill (no analyst picks: the reference is the {len(ref)} picks that seqt-catalog's first "
          f"association put into {len(clean.stages.first.origins)} origins on the clean record)")
    first = {}
    for net, sta, ph, t in ref:
        first[(net, sta, ph)] = min(first.get((net, sta, ph), t), t)
    base_rec = Record("hengill", stream, first, inv, coords)
    for k in factors:
        if k <= 1.0:
            continue
        rec = add_noise(base_rec, k, seed=7)
        rp = make_repicker()
        pipe = CatalogPipeline(associator_options=assoc, picker=picker, repicker=rp)
        t0 = time.perf_counter()
        pipe.run(rec.stream, inv, coords)
        picks = pipe.stages.picks
        new = [x.pick for x in pipe.stages.repick_results]
        sp, sr = score_arrivals(picks, ref), score_arrivals(new, ref)
        print(f"-- SNR / {k:g} ({time.perf_counter() - t0:.0f} s): {len(pipe.stages.first.origins)} origin(s) "
              f"from the picker's picks, {len(new)} re-pick(s)")
        events, other = events_found(catalog_origins(pipe.stages.catalog), clean.stages.first.origins)
        print(f"  catalog (seqt-catalog's events): {events} of the clean record's {len(clean.stages.first.origins)} "
              f"events found (origin within 3 s and 10 km), {other} other origin(s)")
        missed = []
        for ph in "PS":
            arr, found = sp[ph]["arrivals"], sp[ph]["found"]
            rec_ = sr[ph]["found"] - found
            print(f"  {ph}: reference {arr}, picker found {len(found)} (recall {fmt_ratio(len(found), arr)}), "
                  f"picker wrong {sp[ph]['wrong']}; re-picker recovered {len(rec_)} of {arr - len(found)} missed, "
                  f"wrong {sr[ph]['wrong']}, not scored {sr[ph]['unscored']}; gain {fmt_ratio(len(rec_), len(found))}, "
                  f"precision of added {fmt_ratio(len(rec_), len(rec_) + sr[ph]['wrong'])}")
            missed += [ref[i] for i in range(len(ref)) if ref[i][2] == ph and i not in found]
        if diagnose:
            print("  where the misses were lost:")
            for line in funnel(missed, rp.last_searches, rp.options.z_threshold):
                print(line)


STA_LTA_LOUD = 8.0


def transient(r: Record) -> float:
    """The highest classic STA/LTA (0.5 s / 5 s) of a record's vertical, band-passed 2-20 Hz."""
    from obspy.signal.trigger import classic_sta_lta

    st = r.stream.copy()
    st.detrend("demean")
    st.filter("bandpass", freqmin=2.0, freqmax=20.0)
    tr = ([t for t in st if t.stats.channel.endswith("Z")] or list(st))[0]
    sr = tr.stats.sampling_rate
    cf = classic_sta_lta(tr.data.astype(np.float64), int(0.5 * sr), int(5 * sr))
    return float(cf[int(5 * sr):].max()) if len(cf) > int(5 * sr) else 0.0


def noise_figures(picker, records, thresholds, name: str = "single_station 60-s noise") -> None:
    """Noise records: how many get any pick (STEAD's noise records: the issue allows 1 of 19),
    at the defaults and, with ``--curve``, at each threshold set."""
    def records_with(picks):  # records with any pick, with a P, with an S
        return (sum(1 for p in picks if p), *(sum(1 for p in picks if any(q.phase_hint == ph for q in p)) for ph in "PS"))

    probs = pick_records(picker, records)
    picks = [picker.picks_from_probabilities(pr)[0] for pr in probs]
    n = len(records)
    any_, with_p, with_s = records_with(picks)
    print(f"\n== {name}: {n} records of the stations' own pre-event noise, no arrival")
    print(f"records with a pick: {any_} of {n} (with a P {with_p}, with an S {with_s}); picks {sum(len(p) for p in picks)}")
    # the models' window-start artefacts: P peaks at whole seconds after a window's start (every
    # window of a 60-s noise record starts at its first sample or 0.5 s later, the twin)
    p_picks = [(q, r) for pk, r in zip(picks, records) for q in pk if q.phase_hint == "P"]
    whole = sum(1 for q, r in p_picks if abs((q.time - r.stream[0].stats.starttime) * 2.0 % 1.0 - 0.5) > 0.47)
    print(f"  P picks at whole or half seconds after the record's start (window-start artefacts; by chance "
          f"about 6 %): {whole} of {len(p_picks)}")
    # pre-event "noise" of busy networks holds small earthquakes: a classic detector, not EqT,
    # says which records hold a clear transient
    loud = [transient(r) >= STA_LTA_LOUD for r in records]
    quiet_hit = sum(1 for p, l in zip(picks, loud) if p and not l)
    print(f"  records where a classic STA/LTA (0.5 s / 5 s, 2-20 Hz, vertical) reaches {STA_LTA_LOUD:g}: {sum(loud)}, "
          f"{sum(1 for p, l in zip(picks, loud) if p and l)} of them with a pick; the others with a pick: "
          f"{quiet_hit} of {n - sum(loud)}")
    if thresholds:
        print("  curve: det  Pdet    P    S | records with a pick (P, S)")
        for thr in thresholds:
            with thresholds_set(picker, thr):
                any_, with_p, with_s = records_with([picker.picks_from_probabilities(pr)[0] for pr in probs])
            print(f"        {thr[0]:4.2f} {thr[1]:4.2f} {thr[2]:4.2f} {thr[3]:4.2f} | {any_:3d} ({with_p}, {with_s})")


def field_overrides(defaults, pairs):
    """FIELD=VALUE strings as keyword arguments of an options dataclass, typed by its defaults."""
    out = {}
    for kv in pairs:
        k, _, v = kv.partition("=")
        default = getattr(defaults, k)
        out[k] = (v.lower() in ("1", "true", "yes")) if isinstance(default, bool) else type(default)(v)
    return out


def catalog_origins(ep):
    """The preferred origin of each event of a catalog's event parameters."""
    by_id = {o.public_id: o for o in ep.origins}
    return [by_id[e.preferred_origin_id] for e in ep.events if e.preferred_origin_id in by_id]


def catalog_figures(records, origins_per_record, reference) -> str:
    """Earthquakes found (an origin within 3 s and 10 km of the published hypocentre; epicentre
    only where no origin time is published), other origins, median epicentral error."""
    found, errors, other = 0, [], 0
    for r, origins in zip(records, origins_per_record):
        m = match_origins(origins, reference[r.name]) if r.name in reference else None
        if m is not None:
            found += 1
            errors.append(m[1])
        other += len(origins) - (1 if m is not None else 0)
    med = f"{float(np.median(errors)):.1f} km" if errors else "-"
    return (f"found {found} of {len(records)} earthquakes (3 s, 10 km), {other} other origin(s) "
            f"(false, or unlabelled events the records hold), median epicentral error {med}")


def origin_lines(records, origins_per_record, reference) -> List[str]:
    """One line per origin (``--detail``): its time and place against the record's labelled
    hypocentre, its P and S arrivals, and whether it is that earthquake (3 s, 10 km). An other
    origin may be false or an unlabelled event of the record: its arrivals and time tell which
    (e.g. CRL 2010-01-18 holds a foreshock and two later events, see the data set's README)."""
    from obspy.geodetics import gps2dist_azimuth

    lines = []
    for r, origins in zip(records, origins_per_record):
        ref = reference.get(r.name)
        m = match_origins(origins, ref) if ref is not None else None
        for o in sorted(origins, key=lambda o: o.time):
            n = {ph: sum(1 for a in o.arrivals if (a.phase or "")[:1] == ph) for ph in "PS"}
            where = "no labelled hypocentre"
            if ref is not None:
                km = gps2dist_azimuth(ref[1], ref[2], o.latitude, o.longitude)[0] / 1000.0
                dt = f"{o.time - ref[0]:+7.1f} s" if ref[0] is not None else "   time -"
                where = f"{dt}, {km:6.1f} km from the labelled hypocentre"
            depth = f"{o.depth / 1000.0:5.1f} km deep" if o.depth is not None else "depth -"
            verdict = "the labelled earthquake" if m is not None and m[0] is o else "other"
            lines.append(f"    {r.name}: origin {o.time}, {depth}, {where}; {n['P']} P + {n['S']} S arrivals: {verdict}")
    return lines


def run_catalog(records, picker, make_repicker, reference, max_depth: float, associator=(),
                detail: bool = False) -> str:
    """``seqt-catalog``'s pipeline (EqT → PyOcto → re-pick → PyOcto) on each record, constant
    vP/vS: the earthquakes it finds, and its re-picks scored as the re-picker's above (with
    ``detail``, one line per origin after it)."""
    from seqt_plugins.catalog import AssociatorOptions, CatalogPipeline

    options = AssociatorOptions(**{"max_depth": max_depth, **field_overrides(AssociatorOptions(), associator)})
    origins, rec, wrong = [], 0, 0
    for r in records:
        pipe = CatalogPipeline(associator_options=options, picker=picker,
                               repicker=make_repicker())
        origins.append(catalog_origins(pipe.run(r.stream, r.inventory, r.coordinates)))
        base = score(pipe.stages.picks, r.labels)
        s = score([x.pick for x in pipe.stages.repick_results], r.labels)
        for ph in "PS":
            rec += len(s[ph]["correct"] - base[ph]["correct"])
            wrong += s[ph]["wrong"]
    line = f"{catalog_figures(records, origins, reference)}; its re-picks: recovered {rec}, wrong {wrong}"
    return "\n".join([line] + origin_lines(records, origins, reference)) if detail else line


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("SEQT_SHARED", str(Path(__file__).resolve().parents[2] / "shared")))
    ap.add_argument("--noise", default="1,3,10", help="SNR reduction factors (1: as recorded)")
    ap.add_argument("--sets", default="arrays,arrays90,single,window", help="arrays, arrays90 (the arrays cut to 90-s event files, "
                         "first P 5 s in), arrays40 (the same, 40-s files: shorter than a window), single (90-s records), window (60-s cuts), noise (60-s noise records), short (30-s cuts, "
                         "shorter than a window), shortnoise (30-s noise records), hengill (noise protocol, "
                         "the clean record's picks as reference)")
    ap.add_argument("--curve", action="store_true", help="picker recall/precision per threshold")
    ap.add_argument("--detail", action="store_true", help="per re-pick lines (labelled arrays); with --catalog, per origin")
    ap.add_argument("--no-repick", action="store_true")
    ap.add_argument("--repicker", action="append", default=[], metavar="FIELD=VALUE",
                    help="a RepickerOptions field other than its default (exploration), e.g. eqt_threshold=0.05")
    ap.add_argument("--associator", action="append", default=[], metavar="FIELD=VALUE",
                    help="an AssociatorOptions field other than its default (seqt-catalog's pipeline: "
                         "--catalog and the hengill set), e.g. n_picks=4")
    ap.add_argument("--picker", action="append", default=[], metavar="FIELD=VALUE",
                    help="a PickerOptions field other than its default (exploration), e.g. model=conservative")
    ap.add_argument("--catalog", action="store_true",
                    help="labelled arrays: seqt-catalog's pipeline (PyOcto, constant vP/vS, depths to "
                         "--catalog-depth) and the re-picker's own origins against the published hypocentres")
    ap.add_argument("--catalog-depth", type=float, default=200.0, help="deepest event searched (km)")
    ap.add_argument("--leave-one-out", action="store_true",
                    help="also hide each located event's stations one at a time (SNR 1 and 3)")
    ap.add_argument("--diagnose", action="store_true", help="stage by stage, where each missed arrival was lost")
    ap.add_argument("--degrade", default="", metavar="K,K",
                    help="labelled arrays: one station at a time with SNR / K, the others as recorded (e.g. 3,10,30)")
    ap.add_argument("--no-coordinates", action="store_true",
                    help="the re-picker without station coordinates (seqtrepick run without an inventory)")
    ap.add_argument("--repick-curve", action="store_true",
                    help="re-picker recall of the picker's misses and wrong re-picks per threshold, per path")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    data = Path(args.shared) / "data"
    from seqt_plugins.picker.options import PickerOptions
    from seqt_plugins.repicker import Repicker
    from seqt_plugins.repicker.options import RepickerOptions

    picker = Picker(options=PickerOptions(**field_overrides(PickerOptions(), args.picker)))
    overrides = field_overrides(RepickerOptions(), args.repicker)
    def fresh_repicker():
        # one per data set and noise level: the feature cache is keyed by station and time, and
        # the same station-times carry other samples at another noise level
        rp = Repicker(options=RepickerOptions(**overrides), model=None)
        rp.keep_searches = args.diagnose or args.repick_curve
        return rp

    sets = labelled_sets(data, args.sets.split(","))
    factors = [float(x) for x in args.noise.split(",")]
    if "hengill" in args.sets.split(","):
        hengill_noise(data / "hengill", picker, fresh_repicker, factors, diagnose=args.diagnose,
                      associator=args.associator)
    # (detection, P pick's detection (picker.pDetectionThreshold; 0: off), P, S)
    thresholds = [(d, 0.0, p, s) for d in (0.1, 0.3, 0.5) for p, s in ((0.05, 0.05), (0.1, 0.1), (0.2, 0.1), (0.3, 0.1), (0.3, 0.3), (0.5, 0.3))]
    thresholds += [(0.3, pd, p, 0.1) for pd in (0.4, 0.5, 0.7) for p in (0.15, 0.2, 0.3)]
    if args.degrade:
        records = sets.get("labelled_arrays") or labelled_sets(data, ["arrays"])["labelled_arrays"]
        for k, (tot, outcomes, by_path) in degrade_stations(records, picker, fresh_repicker,
                                                            [float(x) for x in args.degrade.split(",")], {}).items():
            print(f"\n== labelled_arrays, one station at a time at SNR / {k:g} (the others as recorded): "
                  "its arrivals the picker missed")
            for ph in "PS":
                t = tot[ph]
                print(f"  {ph}: missed {t['missed']}, searched {t['searched']}, re-picker recovered {t['recovered']}, "
                      f"wrong {t['wrong']}, precision of added {fmt_ratio(t['recovered'], t['recovered'] + t['wrong'])}")
                if t["unsearched"]:
                    print("     not searched: " + ", ".join(f"{why} {n}" for why, n in sorted(t["unsearched"].items())))
            print("  re-picks by path (correct/wrong): " + (", ".join(f"{p} {v[0]}/{v[1]}" for p, v in sorted(by_path.items())) or "none"))
            print_repick_curve(outcomes, {ph: tot[ph]["missed"] for ph in "PS"})
    o = picker.options
    print(f"picker defaults: model={o.model} detection={o.detection_threshold} P={o.p_threshold} S={o.s_threshold}; "
          f"tolerance P {TOL['P']} s, S {TOL['S']} s; wrong = same station-phase within {WRONG_WITHIN} s")
    for name, records in sets.items():
        if name.endswith("noise"):  # pure noise: no SNR to reduce, no arrivals to score
            noise_figures(picker, records, thresholds if args.curve else [], name)
            continue
        for k in factors:
            recs = [add_noise(r, k, seed=i + 1) for i, r in enumerate(records)]
            t0 = time.perf_counter()
            probs = pick_records(picker, recs)
            picks = [picker.picks_from_probabilities(pr)[0] for pr in probs]
            dt = time.perf_counter() - t0
            sc = [score(p, r.labels) for p, r in zip(picks, recs)]
            print(f"\n== {name}, SNR / {k:g}: {len(recs)} records, EqT {dt:.1f} s")
            for ph in "PS":
                arr = sum(s[ph]["arrivals"] for s in sc)
                cor = sum(len(s[ph]["correct"]) for s in sc)
                wro = sum(s[ph]["wrong"] for s in sc)
                print(f"picker {ph}: arrivals {arr}, correct {cor}, missed {arr - cor}, wrong {wro}, "
                      f"recall {fmt_ratio(cor, arr)}, precision {fmt_ratio(cor, cor + wro)}")
            if name.startswith("single"):
                noise_rec = sum(1 for p, r in zip(picks, recs) if not p)
                print(f"records with no pick at all: {noise_rec} of {len(recs)} (every record holds an event)")
                # one labelled event per record: every other pick anywhere in it, as a strict
                # precision (some may be real unlabelled arrivals)
                for ph in "PS":
                    extra = sum(1 for p, r, s in zip(picks, recs, sc) for q in p if q.phase_hint == ph) - \
                        sum(len(s[ph]["correct"]) for s in sc)
                    cor = sum(len(s[ph]["correct"]) for s in sc)
                    print(f"  {ph}: other {ph} picks anywhere in the records {extra}, strict precision {fmt_ratio(cor, cor + extra)}")
            if args.curve:
                print("  curve: det  Pdet    P    S |  P recall prec |  S recall prec")
                for thr, tot in picker_curve(picker, recs, probs, thresholds):
                    print(f"        {thr[0]:4.2f} {thr[1]:4.2f} {thr[2]:4.2f} {thr[3]:4.2f} | {fmt_ratio(tot['P'][0], tot['P'][2])} "
                          f"{fmt_ratio(tot['P'][0], tot['P'][0] + tot['P'][1])} | {fmt_ratio(tot['S'][0], tot['S'][2])} "
                          f"{fmt_ratio(tot['S'][0], tot['S'][0] + tot['S'][1])}")
            if not name.startswith("labelled_arrays") or args.no_repick:
                continue
            t0 = time.perf_counter()
            outcomes = [] if args.repick_curve else None
            tot, n_origins, lines = repick_records(recs, picks, fresh_repicker(), {}, detail=args.detail or args.diagnose,
                                                   diagnose=args.diagnose, outcomes=outcomes,
                                                   coordinates=not args.no_coordinates)
            print(f"re-picker ({time.perf_counter() - t0:.1f} s), {n_origins} origin(s) located from the picker's picks:")
            for ph in "PS":
                cor = sum(len(s[ph]["correct"]) for s in sc)
                t = tot[ph]
                print(f"  {ph}: recovered {t['recovered']}, wrong {t['wrong']}, not scored {t['unscored']}, "
                      f"gain {fmt_ratio(t['recovered'], cor)}, precision of added {fmt_ratio(t['recovered'], t['recovered'] + t['wrong'])}")
            allrec = sum(tot[ph]["recovered"] for ph in "PS")
            allwr = sum(tot[ph]["wrong"] for ph in "PS")
            allcor = sum(len(s[ph]["correct"]) for s in sc for ph in "PS")
            print(f"  both: gain {fmt_ratio(allrec, allcor)}, precision of added {fmt_ratio(allrec, allrec + allwr)}")
            for line in lines:
                print(line)
            if args.catalog:
                from seqt_plugins.catalog.locate import locate_events

                reference = analyst_origins(data / "labelled_arrays")
                located = [locate_events(p, r.coordinates) for p, r in zip(picks, recs)]
                print("  origins located from the picker's picks (the re-picker's input): "
                      + catalog_figures(recs, located, reference))
                if args.detail:
                    print("\n".join(origin_lines(recs, located, reference)))
                t1 = time.perf_counter()
                line = run_catalog(recs, picker, fresh_repicker, reference, args.catalog_depth, args.associator,
                                  detail=args.detail)
                print(f"  seqt-catalog pipeline ({time.perf_counter() - t1:.0f} s): {line}")
            if outcomes is not None:
                print_repick_curve(outcomes, {ph: sum(s[ph]["arrivals"] - len(s[ph]["correct"]) for s in sc) for ph in "PS"})
            if args.leave_one_out and k in (1.0, 3.0):
                loo, paths = leave_one_out(recs, picks, fresh_repicker, {})
                print("leave-one-out (a located event's station hidden, re-picked from the others; "
                      "hidden arrivals with an analyst pick):")
                for ph in "PS":
                    t = loo[ph]
                    print(f"  {ph}: hidden {t['hidden']}, re-picked correctly {t['correct']}, wrong {t['wrong']}")
                print("  by path (correct, wrong): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(paths.items())))


if __name__ == "__main__":
    main()
