"""What a running SeisComP application gives seqtpick, in the shapes the picking core reads.

* the bindings: SeisComP's ``configModule()`` (from the database, ``--config-db`` or
  ``-d``) as the same :class:`~seqt_plugins.config.configdb.ConfigBindings` the offline shell
  reads from an SCML file, so both shells resolve a station's settings with one code path;
* station orientations: ``get_orientation(seed_id, time)`` of SeisComP's inventory, the one
  question :mod:`seqt_plugins.picker.prepare` asks of an ObsPy Inventory;
* the streams to subscribe to: the inventory's (network, station, location, channel);
* records: a ``seiscomp.core.Record`` as an ObsPy Trace.

``seiscomp`` objects are passed in by the caller (the package is imported lazily).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from obspy import Trace, UTCDateTime

from seqt_plugins.config.configdb import ConfigBindings

def _opt(fn, default=None):
    try:
        return fn()
    except (ValueError, RuntimeError):  # an unset optional attribute of a SeisComP object
        return default


def bindings_from_config_module(datamodel, schema, config_module, name: str = "trunk") -> ConfigBindings:
    """The bindings of ``config_module`` (a ``seiscomp.datamodel.ConfigModule``) for ``schema``'s
    module: enabled stations and setups, each setup's parameter set and its ``baseID`` chain."""
    sets: Dict[str, Tuple[Optional[str], Dict[str, str]]] = {}
    stations: Dict[Tuple[str, str], Dict[str, str]] = {}

    def collect(set_id: str) -> None:
        while set_id and set_id not in sets:
            ps = datamodel.ParameterSet.Find(set_id)
            if ps is None:
                return  # reported by ConfigBindings ("parameter set ... not found") when read
            params = {}
            for k in range(ps.parameterCount()):
                p = ps.parameter(k)
                params[p.name()] = p.value() or ""
            base = _opt(ps.baseID) or None
            sets[set_id] = (base, params)
            set_id = base

    if _opt(config_module.enabled, True):
        for i in range(config_module.configStationCount()):
            cs = config_module.configStation(i)
            if not _opt(cs.enabled, True):
                continue
            setups = stations.setdefault((cs.networkCode(), cs.stationCode()), {})
            for j in range(cs.setupCount()):
                setup = cs.setup(j)
                if not _opt(setup.enabled, True):
                    continue
                setups[setup.name()] = setup.parameterSetID()
                collect(setup.parameterSetID())
    return ConfigBindings.from_tables(schema, f"SeisComP configuration module {name}", name, sets, stations)


def sc_to_utc(t) -> UTCDateTime:
    """A ``seiscomp.core.Time`` as an obspy UTCDateTime (exact to the microsecond)."""
    return UTCDateTime(ns=int(t.seconds()) * 1_000_000_000 + int(t.microseconds()) * 1000)


class InventoryOrientations:
    """Orientations from SeisComP's inventory (``seiscomp.client.Inventory.Instance()``)."""

    def __init__(self, client_inventory, core):
        self.inventory = client_inventory
        self.core = core

    def get_orientation(self, seed_id: str, time) -> Dict[str, float]:
        from seqt_plugins.host.messaging import sc_time

        net, sta, loc, cha = seed_id.split(".")
        stream = self.inventory.getStream(net, sta, loc, cha, sc_time(self.core, time))
        if stream is None:
            raise KeyError(f"{seed_id} is not in the inventory at {time}")
        return {"azimuth": _opt(stream.azimuth), "dip": _opt(stream.dip)}


def inventory_streams(inventory) -> List[Tuple[str, str, str, str]]:
    """Every (network, station, location, channel) of a ``seiscomp.datamodel.Inventory``, sorted."""
    found = set()
    if inventory is None:
        return []
    for i in range(inventory.networkCount()):
        net = inventory.network(i)
        for j in range(net.stationCount()):
            sta = net.station(j)
            for k in range(sta.sensorLocationCount()):
                loc = sta.sensorLocation(k)
                for m in range(loc.streamCount()):
                    found.add((net.code(), sta.code(), loc.code(), loc.stream(m).code()))
    return sorted(found)


def record_to_trace(record) -> Optional[Trace]:
    """A ``seiscomp.core.Record`` (data as doubles) as an ObsPy Trace; None without samples."""
    import numpy as np

    data = record.data()
    if data is None or record.sampleCount() == 0:
        return None
    samples = np.array(data.numpy(), dtype=np.float64, copy=True)
    return Trace(data=samples, header={
        "network": record.networkCode(), "station": record.stationCode(), "location": record.locationCode(),
        "channel": record.channelCode(), "sampling_rate": float(record.samplingFrequency()),
        "starttime": sc_to_utc(record.startTime())})


__all__ = ["InventoryOrientations", "bindings_from_config_module", "inventory_streams", "record_to_trace",
           "sc_to_utc"]
