"""Configuration layers: defaults < system < user < --config-file < command line; bindings."""

import io

import pytest

from seqt_plugins.config import load_configuration
from seqt_plugins.modules.schemas import module_schema
from seqt_plugins.config.layering import config_files
from seqt_plugins.modules.seqtpick import SeqtPick

KEY = "picker.pThreshold"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A SeisComP root and a user directory, both initially without cfg files."""
    root = tmp_path / "seiscomp"
    local = tmp_path / "home" / ".seiscomp"
    (root / "etc" / "defaults").mkdir(parents=True)
    local.mkdir(parents=True)
    monkeypatch.setenv("SEISCOMP_ROOT", str(root))
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(local))
    return root, local, tmp_path


def _configure(argv):
    """Run the application's command-line parsing and initConfiguration only."""
    app = SeqtPick(argv, stdout=io.StringIO(), stderr=io.StringIO())
    app.args, app.overrides = app.parse(app.build_parser(), argv)
    app.initConfiguration()
    return app.config


def test_each_layer_wins_in_order(tree):
    root, local, tmp = tree
    schema = module_schema("seqtpick")
    default = schema.parameter(KEY).default

    conf = _configure([])
    assert conf.get(KEY) == default and conf.where(KEY) == "defaults"

    shipped = root / "etc" / "defaults" / "seqtpick.cfg"
    shipped.write_text(f"{KEY} = 0.11\n")
    conf = _configure([])
    assert conf.get(KEY) == 0.11 and conf.where(KEY) == f"{shipped}:1"

    (root / "etc" / "defaults" / "global.cfg").write_text("agencyID = DEF\n")
    (root / "etc" / "global.cfg").write_text("agencyID = SYS\n")
    system = root / "etc" / "seqtpick.cfg"
    system.write_text(f"# system\n{KEY} = 0.12\n")
    conf = _configure([])
    assert conf.get(KEY) == 0.12 and conf.where(KEY) == f"{system}:2"
    assert conf.get("agencyID") == "SYS"

    (local / "global.cfg").write_text("agencyID = USR\n")
    user = local / "seqtpick.cfg"
    user.write_text("picker {\n  pThreshold = 0.13\n}\n")
    conf = _configure([])
    assert conf.get(KEY) == 0.13 and conf.where(KEY) == f"{user}:2"
    assert conf.get("agencyID") == "USR"
    assert [p.name for p in conf.files] == ["global.cfg", "seqtpick.cfg"] * 3

    # --config-file replaces the file layers (SeisComP: "reads only F"): keys it does not set
    # fall back to the built-in defaults, not to the other files.
    only = tmp / "only.cfg"
    only.write_text(f"{KEY} = 0.14\n")
    conf = _configure(["--config-file", str(only)])
    assert conf.get(KEY) == 0.14 and conf.where(KEY) == f"{only}:1"
    assert conf.files == [only]
    assert conf.get("agencyID") == schema.parameter("agencyID").default

    conf = _configure(["--config-file", str(only), f"--{KEY}=0.15"])
    assert conf.get(KEY) == 0.15 and conf.where(KEY) == "command line"
    conf = _configure([f"--{KEY}", "0.16"])  # space-separated form, on top of the user layer
    assert conf.get(KEY) == 0.16

    # an option tied to a key (param-ref) is a command-line layer too
    conf = _configure(["--model", "original", "-I", "sdsarchive:///a,/b"])
    assert conf.get("picker.model") == "original" and conf.where("picker.model") == "command line"
    assert conf.get("recordstream") == "sdsarchive:///a,/b"
    assert conf.options("picker").p_threshold == 0.13


def test_config_files_order(tree):
    root, local, _ = tree
    for p in (root / "etc" / "defaults" / "global.cfg", root / "etc" / "defaults" / "seqtpick.cfg",
              root / "etc" / "global.cfg", root / "etc" / "seqtpick.cfg",
              local / "global.cfg", local / "seqtpick.cfg"):
        p.write_text("")
    layers = config_files("seqtpick")
    assert [layer for layer, _ in layers] == ["defaults"] * 2 + ["system"] * 2 + ["user"] * 2
    assert [str(p.relative_to(p.parents[1])) for _, p in layers][-2:] == [".seiscomp/global.cfg",
                                                                          ".seiscomp/seqtpick.cfg"]


def test_substitution_include_and_del_across_layers(tree):
    root, local, _ = tree
    (root / "etc" / "seqtpick.cfg").write_text(
        'streams.codes = 2C.*\ninclude "extra.cfg"\n')
    (root / "etc" / "extra.cfg").write_text("picker.sThreshold = 0.25\n")
    (local / "seqtpick.cfg").write_text(
        "streams.codes = ${streams.codes}, ON.*\ndel picker.sThreshold\n"
        "output.scmlVersion = \"0.12\"\nplugins = a\\,b, c\n")
    conf = load_configuration(module_schema("seqtpick"))
    assert conf.get("streams.codes") == ["2C.*", "ON.*"]
    assert conf.get("picker.sThreshold") == module_schema("seqtpick").parameter("picker.sThreshold").default
    assert conf.get("output.scmlVersion") == "0.12"
    assert conf.get("plugins") == ["a,b", "c"]


def test_author_builtin_expands():
    conf = load_configuration(module_schema("seqtpick"), env={"HOME": "/nonexistent"})
    assert conf.get("author").startswith("seqtpick@")


def _bindings(key_dir):
    (key_dir / "seqtpick").mkdir(parents=True)
    (key_dir / "global").mkdir()
    (key_dir / "station_2C_BIT06").write_text("# bindings of 2C.BIT06\nglobal:__HH\nseqtpick:strict\n")
    (key_dir / "station_2C_KAP01").write_text("seqtpick\n")
    (key_dir / "station_ON_INNST").write_text("global:__HH\n")
    (key_dir / "global" / "profile___HH").write_text("detecStream = HH\ndetecLocid = \"\"\n")
    (key_dir / "seqtpick" / "profile_strict").write_text("picker.pThreshold = 0.5\npicker.sThreshold = 0.6\n")
    (key_dir / "seqtpick" / "station_2C_KAP01").write_text("picker { detectionThreshold = 0.7 }\n")


def test_bindings_override_one_station(tree):
    root, local, tmp = tree
    (local / "seqtpick.cfg").write_text("picker.pThreshold = 0.2\n")
    key_dir = tmp / "key"
    _bindings(key_dir)
    conf = _configure(["--bindings-dir", str(key_dir)])
    assert conf.bindings.stations() == [("2C", "BIT06"), ("2C", "KAP01"), ("ON", "INNST")]

    bit = conf.options("picker", "2C", "BIT06")  # profile binding
    assert (bit.p_threshold, bit.s_threshold) == (0.5, 0.6)
    assert bit.detection_threshold == conf.get("picker.detectionThreshold")
    kap = conf.options("picker", "2C", "KAP01")  # station binding
    assert (kap.p_threshold, kap.detection_threshold) == (0.2, 0.7)
    other = conf.options("picker", "ON", "INNST")  # only a global binding: module values
    assert other.p_threshold == 0.2
    unbound = conf.options("picker", "XX", "NONE")
    assert unbound == conf.options("picker")
    assert conf.station_values("2C", "BIT06")["detecStream"] == "HH"

    # $SEISCOMP_ROOT/etc/key is the default bindings directory
    _bindings(root / "etc" / "key")
    conf = _configure([])
    assert conf.options("picker", "2C", "BIT06").p_threshold == 0.5


def test_binding_errors(tree):
    from seqt_plugins.config import ConfigError

    _, _, tmp = tree
    key_dir = tmp / "key"
    _bindings(key_dir)
    bad = key_dir / "seqtpick" / "profile_strict"
    bad.write_text("picker.pThreshold = 0.5\npicker.overlap = 0.1\n")
    with pytest.raises(ConfigError) as err:
        _configure(["--bindings-dir", str(key_dir)])
    assert "picker.overlap" in str(err.value) and f"{bad}:2" in str(err.value)
    (key_dir / "station_2C_BIT06").write_text("seqtpick:missing\n")
    bad.write_text("")
    with pytest.raises(ConfigError, match="profile_missing"):
        _configure(["--bindings-dir", str(key_dir)])
