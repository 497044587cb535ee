"""Write the shipped configuration files from the schemas.

``python -m seqt_plugins.modules.generate [--check] [ROOT]`` (re)writes, under ROOT (default: the
project's checkout, whose ``descriptions/`` and ``etc/`` are installed with the package under
``<prefix>/share/seqt-plugins`` and linked into ``$SEISCOMP_ROOT`` by ``seqt-install-seiscomp``):

* ``descriptions/<module>.xml`` (the SeisComP description of every parameter and option);
* ``etc/defaults/<module>.cfg`` (every parameter with its default).

With ``--check`` nothing is written; the exit status is 1 when a shipped file differs from what
the schema generates (as the test ``tests/test_config_schema.py`` checks).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict

from seqt_plugins.config.cfgfile import write_defaults
from seqt_plugins.config.description import description_xml
from seqt_plugins.modules.schemas import all_schemas

#: Where the shipped files live: the checkout's root (descriptions/, etc/defaults/).
SHIPPED_ROOT = Path(__file__).resolve().parents[2]


def generated_files() -> Dict[str, bytes]:
    """Relative path → content of every generated file."""
    files = {}
    for name, schema in all_schemas().items():
        files[f"descriptions/{name}.xml"] = description_xml(schema)
        files[f"etc/defaults/{name}.cfg"] = write_defaults(schema).encode("utf-8")
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqt_plugins.modules.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", type=Path, default=SHIPPED_ROOT)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    stale = []
    for rel, content in generated_files().items():
        path = args.root / rel
        current = path.read_bytes() if path.is_file() else None
        if current == content:
            continue
        stale.append(rel)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            print(f"wrote {path}", file=sys.stderr)
    if args.check and stale:
        print("out of date (run python -m seqt_plugins.modules.generate): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
