"""The shipped description XML and cfg defaults are what the schemas generate."""

import dataclasses

import pytest
from lxml import etree

from seqt_plugins.config import camel_case
from seqt_plugins.config.cfgfile import parse_text
from seqt_plugins.config.description import description_xml, parameters_in_description
from seqt_plugins.modules.generate import SHIPPED_ROOT, generated_files
from seqt_plugins.modules.schemas import module_schema
from seqt_plugins.picker.options import PickerOptions

MODULES = ["seqtpick", "seqtrepick"]


@pytest.mark.parametrize("rel", sorted(generated_files()))
def test_shipped_file_equals_generated(rel):
    shipped = SHIPPED_ROOT / rel
    assert shipped.is_file(), f"{rel} missing: run python -m seqt_plugins.modules.generate"
    assert shipped.read_bytes() == generated_files()[rel], (
        f"{rel} is stale: run python -m seqt_plugins.modules.generate")


@pytest.mark.parametrize("module", MODULES)
def test_description_lists_every_parameter(module):
    schema = module_schema(module)
    xml = description_xml(schema)
    root = etree.fromstring(xml)  # well-formed
    assert root.tag == "seiscomp"
    mod = root.find("module")
    assert mod.get("name") == module and mod.get("category") == "Processing"
    assert mod.findtext("description").strip()
    names = parameters_in_description(xml)
    assert names["module"] == [p.name for p in schema.parameters]
    for el in root.iter("parameter"):
        assert "." not in el.get("name")
        assert el.findtext("description").strip(), el.get("name")
    refs = [el.text for el in root.iter("optionReference")]
    assert "generic#help" in refs and "generic#version" in refs and "records#record-url" in refs
    for opt in root.iter("option"):
        assert opt.get("long-flag")
        ref = opt.get("param-ref")
        if ref:
            assert schema.parameter(ref) is not None


def test_picker_options_are_all_in_the_seqtpick_schema():
    schema = module_schema("seqtpick")
    for f in dataclasses.fields(PickerOptions):
        p = schema.parameter("picker." + camel_case(f.name))
        assert p is not None, f.name
        assert p.default == f.default
        assert p.description == f.metadata["description"]
    assert camel_case("detection_threshold") == "detectionThreshold"
    assert camel_case("p_threshold") == "pThreshold"


def test_binding_section_lists_the_enable_flag_and_threshold_keys():
    xml = description_xml(module_schema("seqtpick"))
    root = etree.fromstring(xml)
    binding = root.find("binding")
    assert binding.get("module") == "seqtpick"
    assert parameters_in_description(xml)["binding"] == [
        "detecEnable", "picker.detectionThreshold", "picker.pThreshold", "picker.sThreshold"]


@pytest.mark.parametrize("module", MODULES)
def test_defaults_cfg_parses_back_to_the_schema_defaults(module):
    schema = module_schema(module)
    text = generated_files()[f"etc/defaults/{module}.cfg"].decode()
    symbols = parse_text(text, "defaults.cfg")
    for p in schema.parameters:
        if p.default is None:
            assert p.name not in symbols
            continue
        assert p.convert(symbols[p.name].values) == p.default, p.name
