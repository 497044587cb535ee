"""When seqtrepick inside SeisComP re-picks the origins it receives (host/origin_queue.py).

The queue is plain Python, so it is tested here directly with the clock as a number; the
SeisComP application that feeds it real datamodel origins is run in
tests/test_seiscomp_repick.py (historic origins, re-picked at once).
"""

import pytest

from seqt_plugins.host.origin_queue import DEFAULT_DELAY_S, OriginQueue

T = 1_800_000_000.0  # an origin time (s since 1970)


def test_a_fresh_origin_waits_until_its_records_can_be_complete():
    q = OriginQueue(DEFAULT_DELAY_S)
    assert q.add("o1", T, ["p1", "p2"], "origin 1", now=T + 40) == []
    assert q.due(T + 129) == []
    assert len(q) == 1 and q.due(T + DEFAULT_DELAY_S - 1e-3) == []
    assert q.due(T + DEFAULT_DELAY_S) == [("o1", "origin 1")]
    assert len(q) == 0


def test_old_origins_are_re_picked_at_once_each_of_them():
    """A playback or an archive: the origin time is long past, the records are there; an
    update received in the same second does not replace the origin (what a playback re-picks
    must not depend on how fast the messages come)."""
    q = OriginQueue(DEFAULT_DELAY_S)
    q.add("o1", T, ["p1"], "origin 1", now=T + 86400)
    assert q.add("o2", T, ["p1", "p2"], "origin 2", now=T + 86400) == []
    assert q.due(T + 86400) == [("o1", "origin 1"), ("o2", "origin 2")]


def test_a_later_origin_of_the_event_replaces_the_waiting_one_and_keeps_its_time():
    """The locator's update (a new origin with the earlier picks and more) replaces the waiting
    origin; it is due when the first was, so updates do not postpone the event without end. An
    origin sharing no pick (another event) waits on its own."""
    q = OriginQueue(130)
    q.add("o1", T, ["p1", "p2", "p3"], "first", now=T + 30)
    q.add("other", T + 20, ["q1", "q2"], "another event", now=T + 40)
    assert q.add("o2", T + 0.4, ["p1", "p2", "p3", "p4"], "update", now=T + 60) == ["o1"]
    assert q.add("o3", T + 0.2, ["p2", "p4", "p5"], "second update", now=T + 100) == ["o2"]
    assert q.due(T + 129) == []
    assert q.due(T + 130) == [("o3", "second update")]
    assert q.due(T + 150) == [("other", "another event")]


def test_an_update_after_the_event_was_re_picked_is_re_picked_too():
    """New picks in a later origin may place the search better: it is re-picked in turn (the
    module sends only re-picks it has not sent before)."""
    q = OriginQueue(130)
    q.add("o1", T, ["p1", "p2"], "first", now=T + 30)
    assert q.due(T + 130) == [("o1", "first")]
    assert q.add("o2", T, ["p1", "p2", "p3"], "update", now=T + 200) == []
    assert q.due(T + 200) == [("o2", "update")]


def test_the_same_origin_sent_again_keeps_one_entry_and_its_due_time():
    q = OriginQueue(130)
    q.add("o1", T, ["p1"], "first", now=T + 30)
    q.add("o1", T, ["p1", "p2"], "with an arrival more", now=T + 50)
    assert len(q) == 1
    assert q.due(T + 130) == [("o1", "with an arrival more")]


def test_without_arrivals_nothing_is_replaced_and_zero_delay_is_at_once():
    q = OriginQueue(0)
    q.add("o1", T, [], "no arrivals yet", now=T + 5)
    assert q.add("o2", T, [], "no arrivals either", now=T + 5) == []
    assert [oid for oid, _ in q.due(T + 5)] == ["o1", "o2"]
    assert q.clear() == []
    q.add("o3", T + 100, ["p"], "x", now=T)
    assert q.clear() == ["o3"] and len(q) == 0


def test_a_negative_delay_is_refused():
    with pytest.raises(ValueError, match="at least 0"):
        OriginQueue(-1)
