"""One progress helper, one rule: a bar is drawn only when bars are on (not quiet, not a
daemon, not switched off by its caller) and its stream is a terminal."""

import io

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime

from seqt_plugins import progress
from seqt_plugins.modules.seqtpick import SeqtPick


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def defaults():
    progress.configure()
    yield
    progress.configure()


def _drawn(stream, **kwargs) -> str:
    progress.configure(stream=stream, **kwargs)
    for _ in progress.progress(range(3), desc="work", unit="item"):
        pass
    return stream.getvalue()


def test_a_bar_is_drawn_on_a_terminal_only():
    assert "work" in _drawn(Tty())
    assert _drawn(io.StringIO()) == ""  # a pipe or a file: nothing drawn, iteration still works
    assert _drawn(Tty(), enabled=False) == ""  # switched off for the process
    tty = Tty()
    progress.configure(stream=tty)
    bar = progress.progress(total=2, desc="steps", enabled=False)  # switched off by its caller
    bar.update(2)
    bar.close()
    assert bar.disable and tty.getvalue() == ""


@pytest.mark.parametrize("argv,shown", [([], True), (["-q"], False), (["--verbosity", "0"], False),
                                        (["-D"], False)])
def test_modules_switch_bars_off_when_quiet_or_detached(argv, shown, monkeypatch, tmp_path):
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path))
    stderr = Tty()
    app = SeqtPick(argv, stderr=stderr)
    app.args, app.overrides = app.parse(app.build_parser(), app.argv)
    app.setup_logging()  # what exec does first (before detaching, for -D)
    try:
        assert progress.shows() is shown
    finally:
        app.done()
    assert progress.shows() is False  # done() restored the defaults: stderr here is no terminal


class _SilentModel:
    """Zero probabilities: enough for the picker to window, batch and stack without TensorFlow."""

    name = "silent"

    def predict(self, x, batch_size=None):
        return tuple(np.zeros((len(x), x.shape[1]), np.float32) for _ in range(3))


def test_the_picking_engine_draws_through_the_helper():
    from seqt_plugins.picker import Picker

    t0 = UTCDateTime(2024, 1, 1)
    stream = Stream([Trace(np.random.default_rng(0).normal(size=18000).astype(np.float32),
                           header={"network": "XX", "station": "A", "channel": f"HH{c}", "sampling_rate": 100.0,
                                   "starttime": t0}) for c in "ENZ"])
    tty = Tty()
    progress.configure(stream=tty)
    Picker(model=_SilentModel()).probabilities(stream)
    assert "EqT" in tty.getvalue()
    quiet = Tty()
    progress.configure(enabled=False, stream=quiet)
    Picker(model=_SilentModel()).probabilities(stream)
    assert quiet.getvalue() == ""
