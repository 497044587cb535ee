"""SeisComP cfg syntax: the parser keeps values with their file and line; the writer inverts it."""

import pytest

from seqt_plugins.config.cfgfile import expand_builtins, format_value, parse_file, parse_text


def values(text, env=None):
    return {k: s.values for k, s in parse_text(text, "t.cfg", env=env or {}).items()}


def test_keys_groups_comments_and_blocks():
    syms = parse_text("# c\na = 1  # trailing\nb.c = x\nd {\n  e = 2\n  f { g = 3 }\n}\nh { i = 4 } \n", "t.cfg")
    assert {k: s.values for k, s in syms.items()} == {
        "a": ["1"], "b.c": ["x"], "d.e": ["2"], "d.f.g": ["3"], "h.i": ["4"]}
    assert syms["d.f.g"].where == "t.cfg:6"


def test_lists_quotes_and_escapes():
    v = values('a = 1, 2 ,3\nb = "1,2", x\nc = 1\\,2\nd = "say \\"hi\\" # not a comment"\n'
               'e =\nf = ""\ng = " padded "\n')
    assert v["a"] == ["1", "2", "3"]
    assert v["b"] == ["1,2", "x"]
    assert v["c"] == ["1,2"]
    assert v["d"] == ['say "hi" # not a comment']
    assert v["e"] == [] and v["f"] == [""] and v["g"] == [" padded "]


def test_continuation_lines_keep_the_first_line_number():
    syms = parse_text("a = 1, \\\n    2, \\\n    3\nb = 4\n", "t.cfg")
    assert syms["a"].values == ["1", "2", "3"] and syms["a"].line == 1 and syms["b"].line == 4


def test_substitution_from_earlier_key_and_environment():
    v = values("p = a, b\np = ${p}, c\nh = ${HOME}/x\n", env={"HOME": "/home/u"})
    assert v["p"] == ["a", "b", "c"] and v["h"] == ["/home/u/x"]


def test_include_is_relative_to_the_including_file_and_del(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inc.cfg").write_text("x = 1\ny.z = 2\ny.w = 3\n")
    main = tmp_path / "main.cfg"
    main.write_text('include "sub/inc.cfg"\ndel y\nx = 5\n')
    syms = parse_file(main)
    assert {k: s.values for k, s in syms.items()} == {"x": ["5"]}
    loop = tmp_path / "loop.cfg"
    loop.write_text('include "loop.cfg"\n')
    with pytest.raises(Exception, match="include loop"):
        parse_file(loop)


def test_builtins(monkeypatch):
    monkeypatch.setenv("SEISCOMP_ROOT", "/opt/sc")
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", "/u/.seiscomp")
    assert expand_builtins("@ROOTDIR@/share") == "/opt/sc/share"
    assert expand_builtins("@DATADIR@|@CONFIGDIR@|@LOGDIR@") == "/opt/sc/share|/u/.seiscomp|/u/.seiscomp/log"
    assert expand_builtins("@appname@@@@hostname@", "seqtpick").startswith("seqtpick@")
    assert "@@" not in expand_builtins("@appname@@@@hostname@", "seqtpick")


@pytest.mark.parametrize("value", [0.1, 5.0, 64, True, False, "conservative", "a b", "x,y", "",
                                   ["*"], ["2C.*", "a,b", 'q"uote']])
def test_writer_round_trip(value):
    text = f"k = {format_value(value)}\n"
    items = parse_text(text, "t.cfg")["k"].values
    expected = value if isinstance(value, list) else [value]
    assert items == [format_value(v) if not isinstance(v, str) else v for v in expected]
