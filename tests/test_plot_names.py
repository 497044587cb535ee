"""PNG names come from codes and IDs; an empty network code must not hide the file."""

from seqt_plugins.plotbase import safe_name


def test_empty_network_does_not_make_a_hidden_file():
    assert safe_name(".CER.00.BH") == "CER.00.BH"


def test_ids_become_portable_file_names():
    assert safe_name("smi:local/seqt/Origin/2018 12 30") == "smi_local_seqt_Origin_2018_12_30"
    assert safe_name("///") == "origin"


def test_time_labels_are_rounded_and_say_utc():
    """Axes read 's after 14:52:00 UTC', not 'after 2005-07-23T14:52:03.240000'."""
    from obspy import UTCDateTime

    from seqt_plugins.plotbase import round_reference, utc_label

    t = UTCDateTime("2005-07-23T14:52:03.24")
    assert round_reference(t) == UTCDateTime("2005-07-23T14:52:00")
    assert round_reference(t, 10.0) == UTCDateTime("2005-07-23T14:52:00")
    assert round_reference(UTCDateTime("2005-07-23T14:52:00")) == UTCDateTime("2005-07-23T14:52:00")
    assert utc_label(round_reference(t)) == "2005-07-23 14:52:00 UTC"
    assert utc_label(t, 2) == "2005-07-23 14:52:03.24 UTC"
    assert utc_label(UTCDateTime("2018-12-30T03:00:59.996"), 2) == "2018-12-30 03:01:00.00 UTC"


def test_counts_are_singular_or_plural():
    from seqt_plugins.plotbase import plural

    assert [plural(n, "pick") for n in (0, 1, 2)] == ["0 picks", "1 pick", "2 picks"]
    assert plural(1, "label") == "1 label"
