"""seqt-xml: convert and validate pick files (SCML 0.11-0.14, QuakeML 1.2).

    seqt-xml convert in.xml out.xml --format quakeml
    seqt-xml convert in.xml out.xml --format scml:0.12 [--compact]
    seqt-xml validate file.xml [--format scml[:VERSION]|quakeml]

The input format and version are detected from the root element.  ``-`` reads stdin / writes
stdout.  The whole input is read before anything is written, and files are written atomically,
so a failed conversion writes nothing.  Exit status: 0 ok, 1 bad input or failed conversion,
255 bad command line (SeisComP's convention).  Logging as the modules (stderr, SeisComP's
format and verbosity options, :mod:`seqt_plugins.modules.logs`): an error is one line,
``[error/seqt-xml] <file>:<line>: <what is wrong>``, and a success one summary line
(``converted 12 picks, 0 origins, 0 events to quakeml 1.2 (out.xml) in 0.1 s``).  ``--format``
has no short form: ``-f`` means ``--formatted`` in the modules, as in SeisComP's scxmldump.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import List, Optional

from seqt_plugins.modules.cli import EXIT_OK, EXIT_USAGE
from seqt_plugins.modules.cli import EXIT_RUN as EXIT_FAILED
from seqt_plugins.modules.cli import ToolArgumentParser as _Parser
from seqt_plugins.modules.logs import add_verbosity_arguments, handlers_for, log_summary, remove_handlers, verbosity_of

log = logging.getLogger("seqt_plugins.modules.seqtxml")


def _format_arg(value: str):
    from seqt_plugins.io.xml import parse_format

    try:
        return parse_format(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> _Parser:
    parser = _Parser(prog="seqt-xml", description="Convert and validate SCML / QuakeML pick files.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    conv = sub.add_parser("convert", help="convert between SCML and QuakeML")
    conv.add_argument("input", help="input file (SCML 0.11-0.14 or QuakeML 1.2, detected), '-' for stdin")
    conv.add_argument("output", help="output file (written atomically), '-' for stdout")
    conv.add_argument("--format", dest="format", type=_format_arg, required=True,
                      help="output format: quakeml or scml[:VERSION] (0.11-0.14, default 0.13)")
    conv.add_argument("--compact", action="store_true", help="no indentation")
    conv.add_argument("--validate", action="store_true",
                      help="validate the output against the XSD installed with obspy (files only)")
    val = sub.add_parser("validate", help="validate a file against its XSD (installed with obspy)")
    val.add_argument("input", help="file to validate")
    val.add_argument("--format", dest="format", type=_format_arg, default=None,
                     help="quakeml or scml[:VERSION]; default: detected from the root element")
    for command in (conv, val):
        add_verbosity_arguments(command)
    return parser


def _convert(args, started: float) -> int:
    from seqt_plugins.io.atomic import atomic_write
    from seqt_plugins.io.xml import read_event_parameters, validate, write_event_parameters

    fmt, version = args.format
    source = sys.stdin.buffer if args.input == "-" else args.input
    ep = read_event_parameters(source)
    pretty = not args.compact
    where = "stdout" if args.output == "-" else args.output
    if args.output == "-":
        write_event_parameters(ep, sys.stdout.buffer, format=fmt, version=version if fmt == "scml" else None,
                               pretty=pretty)
        sys.stdout.buffer.flush()
    elif args.validate:
        # write to a temporary file, validate it, and only then put it in place
        import io

        buf = io.BytesIO()
        write_event_parameters(ep, buf, format=fmt, version=version if fmt == "scml" else None, pretty=pretty)
        data = buf.getvalue()
        validate(data, fmt, version if fmt == "scml" else None)
        with atomic_write(args.output, "wb") as handle:
            handle.write(data)
    else:
        write_event_parameters(ep, args.output, format=fmt, version=version if fmt == "scml" else None,
                               pretty=pretty)
    log_summary(log, started, "converted %d picks, %d origins, %d events to %s %s (%s)", len(ep.picks),
                len(ep.origins), len(ep.events), fmt, version, where)
    return EXIT_OK


def _validate(args, started: float) -> int:
    from seqt_plugins.io.xml import detect_format, validate

    if args.format is None:
        fmt, version = detect_format(args.input)
    else:
        fmt, version = args.format
    validate(args.input, fmt, version if fmt == "scml" else None)
    log_summary(log, started, "%s: valid %s %s", args.input, fmt, version)
    return EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    started = time.monotonic()
    parser = build_parser()
    args, code = parser.parse(argv)
    if args is None:
        return code
    if args.command is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write("seqt-xml: error: a command is required (convert, validate)\n")
        return EXIT_USAGE
    try:
        handlers = handlers_for("seqt-xml", args, sys.stderr, verbosity_of(args))
    except OSError as exc:  # --log-file in a missing or read-only directory
        sys.stderr.write(f"seqt-xml: error: --log-file {args.log_file}: {exc.strerror or exc}\n")
        return EXIT_USAGE
    try:
        if args.command == "convert":
            return _convert(args, started)
        return _validate(args, started)
    except (ValueError, OSError) as err:  # XMLInputError, XMLValidationError, file errors
        message = " ".join(str(err).split())
        if isinstance(err, OSError) and err.filename and str(err.filename) not in message:
            message = f"{err.filename}: {message}"
        log.error("%s", message)
        return EXIT_FAILED
    finally:
        remove_handlers(handlers)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
