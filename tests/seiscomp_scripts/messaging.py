"""Run inside a real SeisComP environment (see tests/seiscomp_host.py); prints one JSON line.

    python messaging.py send HOST          PickSender → scmaster HOST (picks + snr amplitudes)
    python messaging.py convert            PickSender.to_datamodel / test mode, no server
    python messaging.py groups             which group each real NotifierMessage goes to
    python messaging.py connect HOST       connecting only (errors are printed, not raised)
    python messaging.py repick-init HOST EP MSEED   seqtrepick's command line up to its connection
    python messaging.py direct VERSION     direct conversion vs our SCML read by XMLArchive
"""

import io
import json
import sys

from obspy import UTCDateTime

from seqt_plugins.host import MessagingError, PickSender, messaging_available
from seqt_plugins.picks import Amplitude, Pick, WaveformID


def batch():
    wid = WaveformID("XX", "ABC", "", "HHZ")
    picks = [Pick(public_id=f"20240301.10150{i}.00-SEQT-{ph}-XX.ABC..HHZ", time=UTCDateTime(2024, 3, 1, 10, 15, i),
                  waveform_id=wid, phase_hint=ph, method_id="SEQT", probability=0.9)
             for i, ph in enumerate("PS")]
    amps = [Amplitude(public_id=p.public_id + ".snr", type="snr", value=12.0, pick_id=p.public_id, snr=12.0,
                      waveform_id=wid) for p in picks]
    return picks, amps


def rich_batch():
    """Picks and amplitudes with every field the conversion maps."""
    from seqt_plugins.picks import Comment, CreationInfo

    wid = WaveformID("XX", "ABC", "00", "HHZ")
    ci = CreationInfo("XX", "seqtpick@host", UTCDateTime(2024, 3, 1, 10, 16, 0, 123456))
    picks = [
        Pick(public_id="20240301.101502.37-SEQT-P-XX.ABC.00.HHZ", time=UTCDateTime(2024, 3, 1, 10, 15, 2, 370001),
             waveform_id=wid, phase_hint="P", time_uncertainty=0.05, method_id="EQTransformer",
             filter_id="BW(4,2,20)", evaluation_mode="automatic", evaluation_status="preliminary",
             creation_info=ci, probability=0.93, comments=[Comment("note", "remark")]),
        Pick(public_id="20240301.101503.00-SEQTR-S-XX.ABC.00.HHE", time=UTCDateTime(2024, 3, 1, 10, 15, 3),
             waveform_id=WaveformID("XX", "ABC", "00", "HHE"), phase_hint="S", time_lower_uncertainty=0.1,
             time_upper_uncertainty=0.2, method_id="S-EqT", evaluation_mode="manual", probability=0.5,
             reference_pick_id="20240301.101502.37-SEQT-P-XX.ABC.00.HHZ"),
        Pick(public_id="bare", time=UTCDateTime(1969, 12, 31, 23, 59, 59, 5), waveform_id=WaveformID("XX", "B"),
             evaluation_mode=None),
    ]
    amps = [Amplitude(public_id=picks[0].public_id + ".snr", type="snr", value=12.5, pick_id=picks[0].public_id,
                      snr=12.5, unit="", waveform_id=wid, creation_info=ci, reference_time=picks[0].time,
                      window_begin=2.5, window_end=3.0),
            Amplitude(public_id="amp-bare", type="snr", value=1.0)]
    return picks, amps


def xmlarchive_text(ep, path):
    """SeisComP's own SCML of a ``seiscomp.datamodel.EventParameters``."""
    import seiscomp.io

    ar = seiscomp.io.XMLArchive()
    ar.create(path)
    ar.setFormattedOutput(True)
    ar.writeObject(ep)
    ar.close()
    with open(path) as fh:
        return fh.read()


def main(cmd, *args):
    out = {"available": messaging_available()}
    picks, amps = batch()
    if cmd == "send":
        sender = PickSender("seqtpick", host=args[0])
        out["messages"] = sender.send(picks, amps)
        out["sent"] = sender.sent
        sender.close()
    elif cmd == "convert":
        sender = PickSender(test=True)
        sc_picks, sc_amps = sender.to_datamodel(picks, amps)
        out["picks"] = [(p.publicID(), p.phaseHint().code(), p.time().value().iso()) for p in sc_picks]
        out["amplitudes"] = [(a.publicID(), a.type(), a.amplitude().value(), a.pickID()) for a in sc_amps]
        del sc_picks, sc_amps
        out["test_mode_messages"] = sender.send(picks, amps)
        out["test_mode_sent"] = sender.sent
    elif cmd == "groups":
        class Recording:  # stands in for the connection only, to see each message's group
            sent = []

            def send(self, group, msg):
                self.sent.append((group, type(msg).__name__, msg.size()))
                return True

        sender = PickSender(connection=Recording(), pick_group="MLTEST", amplitude_group="AMPL2")
        out["messages"] = sender.send(picks, amps)
        out["sent"] = Recording.sent

        class Refusing:
            def send(self, group, msg):
                return False

        try:
            PickSender(connection=Refusing()).send(picks)
        except MessagingError as exc:
            out["refused"] = str(exc)
    elif cmd == "direct":
        import os
        import tempfile

        import seiscomp.datamodel as dm
        import seiscomp.io

        from seqt_plugins.io.xml import write_event_parameters
        from seqt_plugins.picks import EventParameters

        picks, amps = rich_batch()
        tmp = tempfile.mkdtemp()
        sc_picks, sc_amps = PickSender(test=True).to_datamodel(picks, amps)
        out["counts"] = [len(sc_picks), len(sc_amps)]
        out["comments"] = [[(p.comment(i).id(), p.comment(i).text()) for i in range(p.commentCount())]
                           for p in sc_picks]
        ep = dm.EventParameters()
        for obj in sc_picks + sc_amps:
            ep.add(obj)
        out["direct"] = xmlarchive_text(ep, os.path.join(tmp, "direct.xml"))
        del ep, sc_picks, sc_amps, obj  # their publicIDs are free again
        ours = os.path.join(tmp, "ours.xml")
        write_event_parameters(EventParameters(picks=picks, amplitudes=amps), ours, format="scml", version=args[0])
        ar = seiscomp.io.XMLArchive()
        ar.open(ours)
        ep = dm.EventParameters.Cast(ar.readObject())
        ar.close()
        out["via_scml"] = xmlarchive_text(ep, os.path.join(tmp, "read.xml"))
        try:  # the same publicID twice while the first object lives: a one-line error
            PickSender(test=True).to_datamodel(picks[:1])
        except MessagingError as exc:
            out["duplicate"] = str(exc)
        del ep
    elif cmd == "connect":
        try:
            PickSender(host=args[0]).connect()
            out["connected"] = True
        except MessagingError as exc:
            out["error"] = str(exc)
    elif cmd == "repick-init":
        from seqt_plugins.modules import seqtrepick

        seen = {}

        def run(self):
            seen["pick_group"] = self.sender.pick_group if self.sender is not None else None
            seen["connected"] = self.sender is not None and self.sender._connection is not None
            return True

        seqtrepick.SeqtRepick.run = run
        stdout, stderr = io.StringIO(), io.StringIO()
        rc = seqtrepick.SeqtRepick(["-H", args[0], "--ep", args[1], "-I", args[2]], stdout=stdout,
                                   stderr=stderr).exec()
        out.update(rc=rc, stdout=stdout.getvalue(), stderr=stderr.getvalue(), **seen)
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
