"""Run inside a real SeisComP environment (see tests/seiscomp_host.py); prints one JSON line.

    python messaging.py send HOST          PickSender → scmaster HOST (picks + snr amplitudes)
    python messaging.py convert VERSION    PickSender.to_datamodel / test mode, no server
    python messaging.py groups             which group each real NotifierMessage goes to
    python messaging.py connect HOST       connecting only (errors are printed, not raised)
    python messaging.py repick-init HOST EP MSEED   seqtrepick's command line up to its connection
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


def main(cmd, *args):
    out = {"available": messaging_available()}
    picks, amps = batch()
    if cmd == "send":
        sender = PickSender("seqtpick", host=args[0])
        out["messages"] = sender.send(picks, amps)
        out["sent"] = sender.sent
        sender.close()
    elif cmd == "convert":
        sender = PickSender(scml_version=args[0], test=True)
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
