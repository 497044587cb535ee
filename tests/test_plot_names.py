"""PNG names come from codes and IDs; an empty network code must not hide the file."""

from seqt_plugins.plotbase import safe_name


def test_empty_network_does_not_make_a_hidden_file():
    assert safe_name(".CER.00.BH") == "CER.00.BH"


def test_ids_become_portable_file_names():
    assert safe_name("smi:local/seqt/Origin/2018 12 30") == "smi_local_seqt_Origin_2018_12_30"
    assert safe_name("///") == "origin"
