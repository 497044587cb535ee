"""Run inside a real SeisComP environment: send an SCML file's picks (PICK) and amplitudes
(AMPLITUDE), then each origin with its arrivals (LOCATION), as a picker and scautoloc would.

    python send_ep.py HOST FILE.xml
"""

import sys

from seiscomp import client, datamodel, io


def send(connection, group, objects):
    ep = datamodel.EventParameters()
    datamodel.Notifier.Enable()
    try:
        for obj in objects:
            ep.add(obj)
        msg = datamodel.Notifier.GetMessage()
    finally:
        datamodel.Notifier.Disable()
    if msg is not None and not connection.send(group, msg):
        raise SystemExit(f"sending to {group} failed")


def main(host, path):
    con = client.Connection()
    con.setSource("scmp://" + host)
    if con.connect("", "") != client.OK:
        raise SystemExit(f"cannot connect to {host}")
    ar = io.XMLArchive()
    if not ar.open(path):
        raise SystemExit(f"cannot open {path}")
    ep = datamodel.EventParameters.Cast(ar.readObject())
    ar.close()
    picks, amplitudes, origins = [], [], []
    while ep.pickCount():
        picks.append(datamodel.Pick.Cast(ep.pick(0)))
        ep.removePick(0)
    while ep.amplitudeCount():
        amplitudes.append(datamodel.Amplitude.Cast(ep.amplitude(0)))
        ep.removeAmplitude(0)
    while ep.originCount():
        origins.append(datamodel.Origin.Cast(ep.origin(0)))
        ep.removeOrigin(0)
    send(con, "PICK", picks)
    send(con, "AMPLITUDE", amplitudes)
    for origin in origins:
        send(con, "LOCATION", [origin])
    con.syncOutbox()
    con.disconnect()
    print(f"sent {len(picks)} picks, {len(amplitudes)} amplitudes, {len(origins)} origins")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
