"""XSD validation against the schemas that ObsPy installs (never vendored here).

They are package data of ObsPy's readers, found with :mod:`importlib.resources` (no paths built
from ``obspy.__file__``):

SCML: ``obspy.io.seiscomp``'s ``data/sc3ml_0.11.xsd`` … ``sc3ml_0.13.xsd``, ``scml_0.14.xsd``.
QuakeML: ``obspy.io.quakeml``'s ``data/QuakeML-1.2.xsd`` (imports ``QuakeML-BED-1.2.xsd``).
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from pathlib import Path
from typing import Optional, Union

from lxml import etree

from .common import (
    SCML_VERSION_BY_NAMESPACE,
    XMLInputError,
    XMLValidationError,
    parse_format,
    safe_parser,
    check_no_doctype,
    prolog_has_doctype,
    scml_namespace_problem,
    source_name,
)


def _package_data(package: str, name: str) -> Path:
    """A data file of an installed ObsPy package, as a real path (lxml resolves the XSD imports
    beside it)."""
    res = importlib.resources.files(package) / "data" / name
    if not isinstance(res, Path) or not res.is_file():
        raise FileNotFoundError(f"XSD {name} not found in the installed {package} ({res})")
    return res


def schema_path(format: str = "scml", version: Optional[str] = None) -> Path:
    """Path of the installed XSD for ``format``/``version`` (SCML default 0.13)."""
    fmt, ver = parse_format(format if version is None or format != "scml" else f"scml:{version}")
    if fmt == "quakeml":
        return _package_data("obspy.io.quakeml", "QuakeML-1.2.xsd")
    name = "scml_0.14.xsd" if ver == "0.14" else f"sc3ml_{ver}.xsd"
    return _package_data("obspy.io.seiscomp", name)


@functools.lru_cache(maxsize=None)
def load_schema(format: str = "scml", version: Optional[str] = None) -> etree.XMLSchema:
    path = schema_path(format, version)
    doc = etree.parse(str(path), safe_parser())
    return etree.XMLSchema(doc)


def validate(path_or_bytes: Union[str, os.PathLike, bytes], format: str = "scml",
             version: Optional[str] = None) -> None:
    """Validate a document (a path, or the document itself as bytes) against its XSD.

    For SCML with ``version=None`` the version comes from the root namespace.  Raises
    :class:`XMLValidationError` with ``source:line: schema message`` for the first error, or
    :class:`XMLInputError` if the document is not well-formed.
    """
    if isinstance(path_or_bytes, (bytes, bytearray)):
        src = "<bytes>"
        if prolog_has_doctype(bytes(path_or_bytes[:1 << 16])):
            raise XMLInputError(src, 1, "DOCTYPE/entity declarations are not allowed in SCML or QuakeML")
        try:
            doc = etree.fromstring(bytes(path_or_bytes), safe_parser()).getroottree()
        except etree.XMLSyntaxError as err:
            raise XMLInputError(src, err.lineno, err.msg) from None
    else:
        src = source_name(path_or_bytes)
        check_no_doctype(path_or_bytes, src)
        try:
            doc = etree.parse(os.fspath(path_or_bytes), safe_parser())
        except etree.XMLSyntaxError as err:
            raise XMLInputError(src, err.lineno, err.msg) from None
    if doc.docinfo.doctype or doc.docinfo.internalDTD is not None:
        raise XMLInputError(src, 1, "DOCTYPE/entity declarations are not allowed in SCML or QuakeML")
    fmt, _ = parse_format(format)
    if fmt == "scml" and version is None:
        ns = etree.QName(doc.getroot()).namespace or ""
        version = SCML_VERSION_BY_NAMESPACE.get(ns)
        if version is None:
            raise XMLValidationError(f"{src}:{doc.getroot().sourceline}: {scml_namespace_problem(ns)}")
    schema = load_schema(fmt, version if fmt == "scml" else None)
    if not schema.validate(doc):
        err = schema.error_log.last_error
        first = next(iter(schema.error_log), err)
        msg = " ".join(str(first.message).split())
        raise XMLValidationError(f"{src}:{first.line}: {msg}")
    seen = {}  # the XSDs do not declare publicID unique; SeisComP and QuakeML require it
    for el in doc.iter():
        pid = el.get("publicID") if isinstance(el.tag, str) else None
        if pid is None:
            continue
        if pid in seen:
            raise XMLValidationError(f"{src}:{el.sourceline}: duplicate publicID {pid!r} "
                                     f"(first at line {seen[pid]})")
        seen[pid] = el.sourceline


__all__ = ["validate", "schema_path", "load_schema"]
