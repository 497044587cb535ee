"""Option groups: the typed dataclasses a module registers with its schema (streams, output,
reprocess beside the engines' picker, repicker, associator), their one-line errors, and a
configuration layer that imports no engine."""

import ast
import dataclasses
from pathlib import Path

import pytest

from apprun import run_app
from seqt_plugins.config import ConfigError, ModuleSchema, OptionGroup, camel_case, load_configuration
from seqt_plugins.io.records.options import StreamsOptions
from seqt_plugins.io.xml.options import OutputOptions
from seqt_plugins.modules.schemas import all_schemas, module_schema
from seqt_plugins.modules.seqtpick import SeqtPick
from seqt_plugins.scale.options import ReprocessOptions


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    return tmp_path


def _cfg(tmp_path, text):
    path = tmp_path / "my.cfg"
    path.write_text(text)
    return path


@pytest.mark.parametrize("module", sorted(all_schemas()))
def test_every_group_field_is_a_parameter_with_its_declaration(module):
    schema = module_schema(module)
    assert schema.groups  # every module registers its groups
    for group, cls in schema.groups.items():
        for f in dataclasses.fields(cls):
            p = schema.parameter(f"{group}.{camel_case(f.name)}")
            assert p is not None, (group, f.name)
            assert p.default == (list(f.default) if isinstance(f.default, tuple) else f.default)
            assert (p.description, p.unit, p.values, p.range) == tuple(
                f.metadata[k] for k in ("description", "unit", "values", "range"))


def test_configuration_hands_back_typed_groups(clean_env):
    cfg = _cfg(clean_env, "streams.codes = XX.*, YY.ABC.00.HH?\nstreams.perCall = 4\n"
                          "reprocess.workers = 3\nreprocess.timeout = 30\nreprocess.outputDir = @CONFIGDIR@/days\n"
                          "output.format = quakeml\noutput.formatted = true\n")
    conf = load_configuration(module_schema("seqtpick"), config_file=cfg, overrides=[("reprocess.retries", "5")])
    streams, reprocess, output = (conf.options(g) for g in ("streams", "reprocess", "output"))
    assert streams == StreamsOptions(codes=("XX.*", "YY.ABC.00.HH?"), per_call=4)
    assert (reprocess.workers, reprocess.timeout, reprocess.retries, reprocess.uses_ray) == (3, 30.0, 5, True)
    assert isinstance(reprocess.timeout, float) and isinstance(reprocess.workers, int)
    assert reprocess.output_dir == conf.get("reprocess.outputDir") and "@" not in reprocess.output_dir
    assert output.writer_args() == {"format": "quakeml", "version": None, "pretty": True}
    assert load_configuration(module_schema("seqtpick")).options("output").writer_args() == {
        "format": "scml", "version": "0.13", "pretty": False}
    with pytest.raises(KeyError, match="no option group 'streams'.*repicker"):
        load_configuration(module_schema("seqtrepick")).options("streams")


@pytest.mark.parametrize("line,fragment", [
    ("streams.perCall = 0", "outside the range 1:"),
    ("streams.minDuration = long", "not a valid double"),
    ("reprocess.workers = 2.5", "not a valid int"),
    ("reprocess.timeout = 0.5", "outside the range 1:"),
    ("reprocess.shardLength = 10", "outside the range 60:"),
    ("output.scmlVersion = 0.10", "not one of 0.11, 0.12, 0.13, 0.14"),
    ("output.format = json", "not one of scml, quakeml"),
])
def test_bad_group_value_in_a_file_is_one_line_naming_key_and_line(clean_env, line, fragment):
    cfg = _cfg(clean_env, "\n" + line + "\n")
    with pytest.raises(ConfigError) as err:
        load_configuration(module_schema("seqtpick"), config_file=cfg)
    msg = str(err.value)
    assert fragment in msg and line.split("=")[0].strip() in msg and f"{cfg}:2" in msg and "\n" not in msg


@pytest.mark.parametrize("argv,key", [
    (["--workers", "0"], "reprocess.workers"),
    (["--reprocess.retries=-1"], "reprocess.retries"),
    (["--streams.perCall=many"], "streams.perCall"),
    (["--scml-version", "0.9"], "output.scmlVersion"),
])
def test_bad_group_value_on_the_command_line_exits_255_with_one_line(clean_env, argv, key):
    rc, out, err = run_app(SeqtPick, argv + ["-I", "x.mseed", "--ep"])
    assert rc == 255 and out.getvalue() == ""
    errors = [ln for ln in err.splitlines() if "[error/" in ln]
    assert len(errors) == 1 and key in errors[0] and "command line" in errors[0], err


@pytest.mark.parametrize("cls,kwargs,name", [
    (ReprocessOptions, {"workers": 0}, "workers"),
    (ReprocessOptions, {"backoff": float("nan")}, "backoff"),
    (StreamsOptions, {"per_call": 0}, "per_call"),
    (OutputOptions, {"format": "json"}, "format"),
    (OutputOptions, {"scml_version": "0.10"}, "scml_version"),
])
def test_groups_built_in_code_check_their_declarations(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


def test_a_group_is_registered_once_and_needs_opt_defaults():
    with pytest.raises(ValueError, match="registered twice"):
        ModuleSchema("m", "d", parameters=[OptionGroup("s", StreamsOptions), OptionGroup("s", StreamsOptions)])

    @dataclasses.dataclass
    class NoDefault:
        x: int

    with pytest.raises(ValueError, match="NoDefault.x"):
        ModuleSchema("m", "d", parameters=[OptionGroup("n", NoDefault)])


def test_the_configuration_layer_imports_no_engine_or_module():
    """Not even inside a function: the modules name their option groups, config names none."""
    import seqt_plugins.config as config

    upper = ("picker", "repicker", "catalog", "eqt", "scale", "modules")
    found = []
    for path in sorted(Path(config.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = "seqt_plugins.config." * (node.level == 1) + "seqt_plugins." * (node.level == 2) + (
                    node.module or "")
            elif isinstance(node, ast.Import):
                target = " ".join(a.name for a in node.names)
            else:
                continue
            for name in target.split():
                parts = name.split(".")
                if parts[0] == "seqt_plugins" and len(parts) > 1 and parts[1] in upper:
                    found.append(f"{path.name}:{node.lineno} {name}")
    assert not found, found
