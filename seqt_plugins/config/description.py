"""The SeisComP description XML of a module (``descriptions/<module>.xml``), from its schema.

Layout, as in SeisComP's own ``etc/descriptions/*.xml`` (what scconfig and
``seiscomp update-config`` read)::

    <seiscomp>
      <module name="seqtpick" category="Processing" inherit-global-bindings="true">
        <description>...</description>
        <configuration>
          <group name="picker"><parameter name="pThreshold" type="double" default="0.1" .../></group>
        </configuration>
        <command-line>
          <synopsis>...</synopsis>
          <group name="Generic"><optionReference>generic#help</optionReference>...</group>
          <group name="Mode"><option long-flag="ep">...</option></group>
        </command-line>
      </module>
      <binding module="seqtpick"><description/><configuration>...</configuration></binding>
    </seiscomp>

Dotted names become nested ``<group>`` elements (SeisComP forbids dots in parameter names).
"""

from __future__ import annotations

from typing import Dict, List

from lxml import etree

from .cfgfile import format_value
from .schema import ModuleSchema, Option, Parameter


def _parameter_element(p: Parameter, leaf: str) -> etree._Element:
    el = etree.Element("parameter", name=leaf, type=p.type)
    if p.default is not None:
        el.set("default", format_value(p.default))
    if p.unit:
        el.set("unit", p.unit)
    if p.values:
        el.set("values", p.values)
    if p.range:
        el.set("range", p.range)
    desc = etree.SubElement(el, "description")
    desc.text = p.description
    return el


def _configuration(parameters: List[Parameter]) -> etree._Element:
    conf = etree.Element("configuration")
    groups: Dict[str, etree._Element] = {"": conf}
    for p in parameters:
        *path, leaf = p.name.split(".")
        parent_key = ""
        parent = conf
        for part in path:
            key = f"{parent_key}.{part}" if parent_key else part
            if key not in groups:
                groups[key] = etree.SubElement(parent, "group", name=part)
            parent, parent_key = groups[key], key
        parent.append(_parameter_element(p, leaf))
    return conf


def _option_element(o: Option) -> etree._Element:
    if o.ref:
        el = etree.Element("optionReference")
        el.text = o.ref
        return el
    el = etree.Element("option")
    if o.flag:
        el.set("flag", o.flag)
    el.set("long-flag", o.long_flag)
    if o.argument:
        el.set("argument", o.argument)
    if o.param_ref:
        el.set("param-ref", o.param_ref)
    if o.choices:
        el.set("values", ",".join(o.choices))
    desc = etree.SubElement(el, "description")
    desc.text = o.description
    return el


def description_tree(schema: ModuleSchema) -> etree._ElementTree:
    root = etree.Element("seiscomp")
    module = etree.SubElement(root, "module", name=schema.name, category=schema.category)
    module.set("inherit-global-bindings", "true" if schema.inherit_global_bindings else "false")
    etree.SubElement(module, "description").text = schema.description
    module.append(_configuration(schema.parameters))
    cmd = etree.SubElement(module, "command-line")
    if schema.synopsis:
        etree.SubElement(cmd, "synopsis").text = schema.synopsis
    groups: Dict[str, etree._Element] = {}
    for o in schema.options:
        if o.group not in groups:
            groups[o.group] = etree.SubElement(cmd, "group", name=o.group)
        groups[o.group].append(_option_element(o))
    if schema.bindings:
        binding = etree.SubElement(root, "binding", module=schema.name)
        etree.SubElement(binding, "description").text = schema.binding_description
        binding.append(_configuration(schema.binding_parameters()))
    return etree.ElementTree(root)


def description_xml(schema: ModuleSchema) -> bytes:
    """The bytes of ``descriptions/<module>.xml``."""
    tree = description_tree(schema)
    etree.indent(tree, space="  ")
    body = etree.tostring(tree, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def parameters_in_description(xml: bytes) -> Dict[str, List[str]]:
    """Dotted names of the parameters of ``module`` and ``binding`` sections of a description."""
    root = etree.fromstring(xml)
    out: Dict[str, List[str]] = {}
    for section in root:
        names = []
        conf = section.find("configuration")
        if conf is None:
            continue
        for el in conf.iter("parameter"):
            parts = [el.get("name")]
            parent = el.getparent()
            while parent is not None and parent.tag == "group":
                parts.insert(0, parent.get("name"))
                parent = parent.getparent()
            names.append(".".join(parts))
        out[section.tag] = names
    return out
