"""Exit codes, the argument parser of the standalone tools (seqt-xml, seqt-train), and whether
stdin holds input (seqtrepick's, as screpick's).

The codes are SeisComP's: 0 ok, 1 the run failed, 2 invalid parameters, 255 a bad command line;
plus 3: the run finished and wrote its output, but skipped some input (a damaged file, a sensor
whose data could not be read, an invalid origin), each named in an error line; and SeisComP's 5:
another run holds the lock (the reprocessing output directory's).
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK = 0
EXIT_RUN = 1
EXIT_VALIDATE = 2
EXIT_PARTIAL = 3  # finished, output written, but some input was skipped (each one logged)
EXIT_LOCKED = 5  # SeisComP's "lockfile" code: another run holds the output directory
EXIT_USAGE = 255


class ToolArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line and exits 255, not 2."""

    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)

    def parse(self, argv):
        """(namespace, None), or (None, exit code) after -h (0) or a bad command line (255)."""
        try:
            return self.parse_args(argv), None
        except SystemExit as exc:
            return None, int(exc.code or 0)


def stdin_has_data() -> bool:
    """Whether stdin is a file or a pipe (not a terminal, not /dev/null or closed)."""
    import os
    import stat

    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
