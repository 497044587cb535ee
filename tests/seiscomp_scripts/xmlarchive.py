"""Run inside a real SeisComP environment (see tests/seiscomp_host.py).

    python xmlarchive.py OUTDIR IN1.xml [IN2.xml ...]

Each input is read with ``seiscomp.io.XMLArchive``; every object SeisComP's datamodel holds is
printed as one JSON line (``{"file": ..., "version": "0.13", "picks": [...], ...}``), and the
EventParameters is written back with ``XMLArchive`` (SeisComP's own SCML version) to
``OUTDIR/<name>``. SeisComP keeps a global registry of public IDs, so each file's objects are
released before the next file is read (otherwise equal IDs would be refused).
"""

import json
import sys
from pathlib import Path

from seiscomp import datamodel, io


def opt(fn):
    try:
        return fn()
    except (ValueError, RuntimeError, AttributeError):
        return None


def name(names, fn):
    value = opt(fn)
    return None if value is None else names.name(value)


def time_text(t):
    return t.iso() if t is not None else None


def creation(obj):
    ci = opt(obj.creationInfo)
    if ci is None:
        return None
    return {"agencyID": ci.agencyID() or None, "author": ci.author() or None,
            "creationTime": time_text(opt(ci.creationTime))}


def comments(obj):
    return [{"id": c.id() or None, "text": c.text()} for c in (obj.comment(i) for i in range(obj.commentCount()))]


def wid(w):
    return [w.networkCode(), w.stationCode(), w.locationCode(), w.channelCode()]


def pick(p):
    t = p.time()
    return {
        "publicID": p.publicID(), "time": time_text(t.value()), "uncertainty": opt(t.uncertainty),
        "lower": opt(t.lowerUncertainty), "upper": opt(t.upperUncertainty),
        "waveformID": wid(p.waveformID()), "methodID": p.methodID() or None, "filterID": p.filterID() or None,
        "phaseHint": opt(lambda: p.phaseHint().code()),
        "evaluationMode": name(datamodel.EEvaluationModeNames, p.evaluationMode),
        "evaluationStatus": name(datamodel.EEvaluationStatusNames, p.evaluationStatus),
        "creationInfo": creation(p), "comments": comments(p),
    }


def amplitude(a):
    return {
        "publicID": a.publicID(), "type": a.type(), "value": opt(lambda: a.amplitude().value()),
        "snr": opt(a.snr), "unit": a.unit() or None, "pickID": a.pickID() or None,
        "waveformID": opt(lambda: wid(a.waveformID())), "creationInfo": creation(a),
        "timeWindow": opt(lambda: [a.timeWindow().reference().iso(), a.timeWindow().begin(), a.timeWindow().end()]),
    }


def origin(o):
    arrivals = []
    for i in range(o.arrivalCount()):
        a = o.arrival(i)
        arrivals.append({"pickID": a.pickID(), "phase": opt(lambda: a.phase().code()),
                         "distance": opt(a.distance), "azimuth": opt(a.azimuth),
                         "timeResidual": opt(a.timeResidual), "weight": opt(a.weight)})
    return {
        "publicID": o.publicID(), "time": time_text(o.time().value()),
        "latitude": o.latitude().value(), "longitude": o.longitude().value(),
        "depth_km": opt(lambda: o.depth().value()), "methodID": o.methodID() or None,
        "evaluationMode": name(datamodel.EEvaluationModeNames, o.evaluationMode),
        "evaluationStatus": name(datamodel.EEvaluationStatusNames, o.evaluationStatus),
        "creationInfo": creation(o), "comments": comments(o), "arrivals": arrivals,
    }


def event(e):
    return {
        "publicID": e.publicID(), "preferredOriginID": e.preferredOriginID() or None,
        "originIDs": [e.originReference(i).originID() for i in range(e.originReferenceCount())],
        "type": name(datamodel.EEventTypeNames, e.type), "creationInfo": creation(e), "comments": comments(e),
    }


def main(outdir, paths):
    outdir = Path(outdir)
    for path in paths:
        ar = io.XMLArchive()
        if not ar.open(path):
            print(json.dumps({"file": path, "error": "XMLArchive cannot open"}), flush=True)
            continue
        obj = ar.readObject()
        version = f"{ar.version().majorTag()}.{ar.version().minorTag()}"
        ar.close()
        ep = datamodel.EventParameters.Cast(obj)
        if ep is None:
            print(json.dumps({"file": path, "version": version, "error": "no EventParameters"}), flush=True)
            continue
        record = {
            "file": path, "version": version,
            "picks": [pick(ep.pick(i)) for i in range(ep.pickCount())],
            "amplitudes": [amplitude(ep.amplitude(i)) for i in range(ep.amplitudeCount())],
            "origins": [origin(ep.origin(i)) for i in range(ep.originCount())],
            "events": [event(ep.event(i)) for i in range(ep.eventCount())],
        }
        out = io.XMLArchive()
        if not out.create(str(outdir / Path(path).name)):
            raise SystemExit(f"XMLArchive cannot create {outdir / Path(path).name}")
        out.setFormattedOutput(True)
        out.writeObject(ep)
        out.close()
        print(json.dumps(record), flush=True)
        del ep, obj


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
