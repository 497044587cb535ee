"""Unknown keys, bad values and bad command lines: one line naming the key and where."""

import io

import pytest

from seqt_plugins.config import ConfigError, load_configuration
from seqt_plugins.config.cfgfile import parse_text
from seqt_plugins.modules.schemas import module_schema
from seqt_plugins.modules.seqtpick import SeqtPick


@pytest.fixture
def schema():
    return module_schema("seqtpick")


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No SeisComP installation and an empty user configuration."""
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    return tmp_path


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_unknown_key_names_key_and_file_line(schema, clean_env):
    cfg = _write(clean_env / "my.cfg", "# comment\npicker.pThreshold = 0.2\npicker.pThreshhold = 0.3\n")
    with pytest.raises(ConfigError) as err:
        load_configuration(schema, config_file=cfg)
    msg = str(err.value)
    assert "picker.pThreshhold" in msg
    assert f"{cfg}:3" in msg
    assert "\n" not in msg


def test_unknown_key_in_a_block(schema, clean_env):
    cfg = _write(clean_env / "my.cfg", "picker {\n  pThreshold = 0.2\n  bogus = 1\n}\n")
    with pytest.raises(ConfigError, match=r"picker\.bogus.*|.*my\.cfg:3"):
        load_configuration(schema, config_file=cfg)
    with pytest.raises(ConfigError) as err:
        load_configuration(schema, config_file=cfg)
    assert "picker.bogus" in str(err.value) and f"{cfg}:3" in str(err.value)


def test_unknown_top_level_key_in_user_global_cfg(schema, clean_env):
    cfg = _write(clean_env / "local" / "global.cfg", "agencyID = XX\nlogging.level = 3\nfoo = 1\n")
    with pytest.raises(ConfigError) as err:
        load_configuration(schema)
    assert "'foo'" in str(err.value) and f"{cfg}:3" in str(err.value)


def test_global_keys_are_accepted(schema, clean_env):
    cfg = _write(clean_env / "my.cfg", 'agencyID = XX\nauthor = "me"\nrecordstream = "sdsarchive:///a,/b"\n'
                 "connection.server = localhost/production\nlogging.level = 4\nplugins = ${plugins}, x\n"
                 "core.plugins = dbmysql\n")
    # ${plugins} is not set earlier: substitution fails naming the file and line
    with pytest.raises(ConfigError) as err:
        load_configuration(schema, config_file=cfg)
    assert f"{cfg}:6" in str(err.value) and "plugins" in str(err.value)
    cfg.write_text(cfg.read_text().replace("${plugins}, x", "x, y"))
    conf = load_configuration(schema, config_file=cfg)
    assert conf.get("agencyID") == "XX"
    assert conf.get("recordstream") == "sdsarchive:///a,/b"
    assert conf.get("logging.level") == 4


@pytest.mark.parametrize("line,fragment", [
    ("picker.pThreshold = high", "not a valid double"),
    ("picker.pThreshold = 1.5", "outside the range 0:1"),
    ("picker.batchSize = 6.5", "not a valid int"),
    ("picker.stacking = median", "not one of max, mean"),
    ("picker.pThreshold = 0.1, 0.2", "expected one double"),
    ("output.formatted = maybe", "not a valid boolean"),
])
def test_bad_values(schema, clean_env, line, fragment):
    cfg = _write(clean_env / "my.cfg", "\n" + line + "\n")
    with pytest.raises(ConfigError) as err:
        load_configuration(schema, config_file=cfg)
    assert fragment in str(err.value)
    assert f"{cfg}:2" in str(err.value)
    assert line.split("=")[0].strip() in str(err.value)


@pytest.mark.parametrize("text,fragment", [
    ("a {\n b = 1\n", "not closed"),
    ("}\n", "without an open block"),
    ('a = "open\n', "unterminated quoted string"),
    ("a b c\n", "expected '='"),
])
def test_syntax_errors(text, fragment):
    with pytest.raises(ConfigError) as err:
        parse_text(text, "x.cfg")
    assert fragment in str(err.value) and "x.cfg:" in str(err.value)


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = SeqtPick(argv, stdout=out, stderr=err).exec()
    return rc, out.getvalue(), err.getvalue()


def test_unknown_cli_option_exits_255(clean_env):
    rc, out, err = _run(["--no-such-option"])
    assert rc == 255
    assert "--no-such-option" in err and out == ""


def test_unknown_cli_config_key_exits_255(clean_env):
    rc, _, err = _run(["--picker.noSuchKey=1", "-I", "x.mseed"])
    assert rc == 255 and "picker.noSuchKey" in err and "command line" in err


def test_bad_cli_value_exits_255(clean_env):
    rc, _, err = _run(["--picker.pThreshold=abc", "-I", "x.mseed"])
    assert rc == 255 and "picker.pThreshold" in err and "command line" in err
    rc, _, err = _run(["--format", "json"])
    assert rc == 255


def test_bad_config_file_exits_255_with_seiscomp_log_line(clean_env):
    cfg = _write(clean_env / "bad.cfg", "picker.nope = 1\n")
    rc, out, err = _run(["--config-file", str(cfg), "-I", "x.mseed"])
    assert rc == 255 and out == ""
    line = [ln for ln in err.splitlines() if "picker.nope" in ln][0]
    assert f"{cfg}:1" in line
    assert "[error/seqtpick]" in line
    assert line[:4].isdigit() and line[4] == "/"  # 2024/03/01 10:15:02 [error/seqtpick] ...


def test_missing_config_file_exits_255(clean_env):
    rc, _, err = _run(["--config-file", str(clean_env / "absent.cfg"), "-I", "x.mseed"])
    assert rc == 255 and "absent.cfg" in err


def test_validate_parameters_failure_exits_2(clean_env):
    rc, _, err = _run(["--ep", "-I", "sdsarchive:///nowhere"])  # SDS needs --begin/--end
    assert rc == 2 and "--begin" in err
    rc, _, err = _run(["--ep"])  # no record stream
    assert rc == 2 and "record stream" in err


def test_other_modules_keys_only_in_global_cfg(schema, clean_env):
    """Every module reads global.cfg, so seqtrepick's keys there are fine for seqtpick;
    in seqtpick's own files they are unknown."""
    _write(clean_env / "local" / "global.cfg", "repicker.vp = 5.5\n")
    conf = load_configuration(schema, other_schemas=[module_schema("seqtrepick")])
    assert "repicker.vp" not in conf
    own = _write(clean_env / "local" / "seqtpick.cfg", "repicker.vp = 5.5\n")
    with pytest.raises(ConfigError) as err:
        load_configuration(schema, other_schemas=[module_schema("seqtrepick")])
    assert "repicker.vp" in str(err.value) and f"{own}:1" in str(err.value)
