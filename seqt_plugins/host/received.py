"""What a running SeisComP application gives seqtrepick, in the shapes the re-picker reads.

* origins, their arrivals and the arrivals' picks: ``seiscomp.datamodel`` objects (received in
  a notifier message, kept in SeisComP's object cache or loaded from its database) converted
  field by field to :mod:`seqt_plugins.picks` objects; a pick's comments ``probability`` and
  ``referencePickID`` become its fields, as our SCML reader reads them;
* the inventory: SeisComP's ``datamodel.Inventory`` as an ObsPy Inventory (the station
  coordinates place the search windows, the stream orientations rotate the components), and
  the streams of the stations within a distance of an origin;
* waveforms: SeisComP's own RecordStream (``Application.recordStreamURL()``: ``-I``,
  ``recordstream``) read for those streams and a time window into an ObsPy Stream.

``seiscomp`` modules are passed in by the caller (the package is imported lazily).
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

from obspy import Stream, UTCDateTime

from seqt_plugins.picks import Arrival, Comment, CreationInfo, Origin, Pick, WaveformID

from .sources import record_to_trace, sc_to_utc

Stream4 = Tuple[str, str, str, str]  # network, station, location, channel


def _opt(fn, default=None):
    try:
        return fn()
    except (ValueError, RuntimeError):  # an unset optional attribute of a SeisComP object
        return default


def _enum_name(names, value) -> Optional[str]:
    return _opt(lambda: names.name(value()))


def _creation_info(obj) -> Optional[CreationInfo]:
    ci = _opt(obj.creationInfo)
    if ci is None:
        return None
    return CreationInfo(ci.agencyID() or None, ci.author() or None, _opt(lambda: sc_to_utc(ci.creationTime())))


def pick_from_datamodel(datamodel, p) -> Pick:
    """A ``seiscomp.datamodel.Pick`` as our Pick (the fields both hold, comments included)."""
    w = p.waveformID()
    tq = p.time()
    pick = Pick(public_id=p.publicID(), time=sc_to_utc(tq.value()),
                waveform_id=WaveformID(w.networkCode(), w.stationCode(), w.locationCode(), w.channelCode()),
                phase_hint=_opt(lambda: p.phaseHint().code()) or None, method_id=p.methodID() or None,
                filter_id=p.filterID() or None, time_uncertainty=_opt(tq.uncertainty),
                time_lower_uncertainty=_opt(tq.lowerUncertainty), time_upper_uncertainty=_opt(tq.upperUncertainty),
                evaluation_mode=_enum_name(datamodel.EEvaluationModeNames, p.evaluationMode),
                evaluation_status=_enum_name(datamodel.EEvaluationStatusNames, p.evaluationStatus),
                creation_info=_creation_info(p))
    for i in range(p.commentCount()):
        c = p.comment(i)
        text, cid = c.text(), c.id() or None
        if cid == "probability" and pick.probability is None:
            try:
                pick.probability = float(text)
                continue
            except ValueError:
                pass
        elif cid == "referencePickID" and pick.reference_pick_id is None:
            pick.reference_pick_id = text
            continue
        pick.comments.append(Comment(text, cid))
    return pick


def arrival_from_datamodel(a) -> Arrival:
    return Arrival(pick_id=a.pickID(), phase=_opt(lambda: a.phase().code()) or "P", distance=_opt(a.distance),
                   azimuth=_opt(a.azimuth), time_residual=_opt(a.timeResidual), time_weight=_opt(a.weight))


def origin_from_datamodel(datamodel, o) -> Origin:
    """A ``seiscomp.datamodel.Origin`` with its arrivals as our Origin (depth in m, as SCML's
    km read by our reader); ValueError when time, latitude or longitude is unset."""
    try:
        time, lat, lon = sc_to_utc(o.time().value()), o.latitude().value(), o.longitude().value()
    except (ValueError, RuntimeError):
        raise ValueError("time, latitude or longitude not set") from None
    depth_km = _opt(lambda: o.depth().value())
    return Origin(public_id=o.publicID(), time=time, latitude=lat, longitude=lon,
                  depth=None if depth_km is None else depth_km * 1000.0,
                  arrivals=[arrival_from_datamodel(o.arrival(i)) for i in range(o.arrivalCount())],
                  method_id=o.methodID() or None,
                  evaluation_mode=_enum_name(datamodel.EEvaluationModeNames, o.evaluationMode),
                  evaluation_status=_enum_name(datamodel.EEvaluationStatusNames, o.evaluationStatus),
                  creation_info=_creation_info(o))


def _epoch(obj) -> Tuple[Optional[UTCDateTime], Optional[UTCDateTime]]:
    start = _opt(lambda: sc_to_utc(obj.start()))
    end = _opt(lambda: sc_to_utc(obj.end()))
    return start, end


def obspy_inventory(inventory):
    """SeisComP's ``datamodel.Inventory`` as an ObsPy Inventory: networks, stations (coordinates,
    epochs) and channels (coordinates of their sensor location, depth, azimuth, dip, sampling
    rate, epochs); responses are not needed by the re-picker and not converted."""
    from obspy.core.inventory import Channel, Inventory, Network, Station

    out = Inventory(networks=[], source="SeisComP")
    if inventory is None:
        return out
    for i in range(inventory.networkCount()):
        net = inventory.network(i)
        start, end = _epoch(net)
        network = Network(net.code(), start_date=start, end_date=end)
        for j in range(net.stationCount()):
            sta = net.station(j)
            lat, lon = _opt(sta.latitude), _opt(sta.longitude)
            if lat is None or lon is None:
                continue
            elev = _opt(sta.elevation, 0.0)
            start, end = _epoch(sta)
            station = Station(sta.code(), lat, lon, elev, start_date=start, end_date=end)
            for k in range(sta.sensorLocationCount()):
                loc = sta.sensorLocation(k)
                llat, llon, lelev = _opt(loc.latitude, lat), _opt(loc.longitude, lon), _opt(loc.elevation, elev)
                for m in range(loc.streamCount()):
                    s = loc.stream(m)
                    num, den = _opt(s.sampleRateNumerator), _opt(s.sampleRateDenominator)
                    start, end = _epoch(s)
                    station.channels.append(Channel(
                        s.code(), loc.code(), llat, llon, lelev, _opt(s.depth, 0.0), azimuth=_opt(s.azimuth),
                        dip=_opt(s.dip), sample_rate=num / den if num and den else None, start_date=start,
                        end_date=end))
            network.stations.append(station)
        out.networks.append(network)
    return out


def streams_near(inventory, origins: Sequence[Origin], max_km: float, t0: UTCDateTime, t1: UTCDateTime,
                 extra: Iterable[Tuple[str, str]] = ()) -> List[Stream4]:
    """The component streams (channel codes ending Z, N, E, 1, 2, 3) open within [t0, t1] of the
    ObsPy ``inventory``'s stations within ``max_km`` of any of ``origins``, plus those of the
    stations ``extra`` (NET, STA) wherever they are: what the re-picker may search."""
    from obspy.geodetics import gps2dist_azimuth

    wanted = set(extra)
    found = set()
    for net in inventory:
        for sta in net:
            near = (net.code, sta.code) in wanted or any(
                gps2dist_azimuth(o.latitude, o.longitude, sta.latitude, sta.longitude)[0] / 1000.0 <= max_km
                for o in origins)
            if not near:
                continue
            for cha in sta.channels:
                if cha.code[-1:] not in "ZNE123" or not cha.code:
                    continue
                if (cha.start_date is not None and cha.start_date > t1) or (
                        cha.end_date is not None and cha.end_date < t0):
                    continue
                found.add((net.code, sta.code, cha.location_code, cha.code))
    return sorted(found)


def read_records(io, core, url: str, streams: Sequence[Stream4], t0: UTCDateTime, t1: UTCDateTime,
                 timeout: Optional[int] = None) -> Stream:
    """The records of ``streams`` in [t0, t1] from SeisComP's RecordStream ``url``, as one
    ObsPy Stream (contiguous records joined; gaps stay as separate traces). RecordStreamError
    (one line) when the stream cannot be opened or a request is refused."""
    from seqt_plugins.io.records import RecordStreamError

    from .messaging import sc_time

    rs = io.RecordStream.Open(url)
    if rs is None:
        raise RecordStreamError(f"cannot open the record stream {url}")
    try:
        if timeout:
            rs.setTimeout(int(timeout))
        start, end = sc_time(core, t0), sc_time(core, t1)
        for net, sta, loc, cha in streams:
            if not rs.addStream(net, sta, loc, cha, start, end):
                raise RecordStreamError(f"{url}: cannot request {net}.{sta}.{loc}.{cha}")
        traces = []
        for record in io.RecordInput(rs, core.Array.DOUBLE, core.Record.DATA_ONLY):
            trace = record_to_trace(record)
            if trace is not None and trace.stats.endtime >= t0 and trace.stats.starttime <= t1:
                traces.append(trace)
    finally:
        rs.close()
    stream = Stream(traces)
    stream.merge(method=-1)  # only exactly contiguous records: gaps are the preparation's to judge
    return stream


__all__ = ["arrival_from_datamodel", "obspy_inventory", "origin_from_datamodel",
           "pick_from_datamodel", "read_records", "streams_near"]
