"""``seqt-install-seiscomp SEISCOMP_ROOT``: link the modules into a SeisComP installation.

Links, for ``seqtpick`` and ``seqtrepick``:

* ``bin/<module>``: the console script of this installation (its Python has seqt-plugins);
* ``etc/descriptions/<module>.xml``, ``etc/defaults/<module>.cfg``: the project's
  ``descriptions/`` and ``etc/defaults/`` (generated from the schemas), installed with the
  package under ``<prefix>/share/seqt-plugins`` (or read from a source checkout);
* ``etc/init/<module>.py``: the kernel module, so that ``seiscomp start <module>`` works.

An existing link to the same file is left alone; any other existing file is an error unless
``--force``. ``--copy`` copies instead of linking. ``--dry-run`` only prints. Exit codes: 0, 1
(a file is in the way or cannot be written), 255 (bad command line).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import List, Optional, Tuple

MODULES = ("seqtpick", "seqtrepick")
SHARE = ("share", "seqt-plugins")


def data_root() -> Path:
    """Where ``descriptions/`` and ``etc/`` are: installed data files, else the source checkout."""
    for base in (Path(sys.prefix), Path(sys.base_prefix)):
        root = base.joinpath(*SHARE)
        if (root / "descriptions").is_dir():
            return root
    checkout = Path(__file__).resolve().parents[2]  # an editable install or a source tree
    if (checkout / "descriptions").is_dir():
        return checkout
    raise FileNotFoundError("the description and defaults files are not installed "
                            f"(looked in {Path(sys.prefix).joinpath(*SHARE)} and {checkout})")


def console_script(name: str) -> Optional[Path]:
    """The console script ``name`` of this Python environment (beside its interpreter)."""
    here = Path(sys.executable).parent / name
    if here.is_file():
        return here
    found = shutil.which(name)
    return Path(found) if found else None


def plan(root: Path, modules=MODULES) -> List[Tuple[Path, Path]]:
    """(source, target) of every file to link under ``root``."""
    out = []
    data = data_root()
    for m in modules:
        script = console_script(m)
        if script is None:
            raise FileNotFoundError(f"console script {m} not found beside {sys.executable} (pip install seqt-plugins)")
        out.append((script, root / "bin" / m))
        out.append((data / "descriptions" / f"{m}.xml", root / "etc" / "descriptions" / f"{m}.xml"))
        out.append((data / "etc" / "defaults" / f"{m}.cfg", root / "etc" / "defaults" / f"{m}.cfg"))
        out.append((data / "etc" / "init" / f"{m}.py", root / "etc" / "init" / f"{m}.py"))
    return out


def install(root: Path, copy: bool = False, force: bool = False, dry_run: bool = False, log=print) -> int:
    root = Path(root)
    if not (root / "etc").is_dir() or not (root / "bin").is_dir():
        log(f"seqt-install-seiscomp: {root}: not a SeisComP installation (no bin/ and etc/)")
        return 1
    try:
        items = plan(root)
    except FileNotFoundError as exc:
        log(f"seqt-install-seiscomp: {exc}")
        return 1
    for source, target in items:
        if not source.is_file():
            log(f"seqt-install-seiscomp: {source}: missing from the package")
            return 1
        if target.is_symlink() and Path(os.readlink(target)) == source:
            continue
        if (target.exists() or target.is_symlink()) and not force:
            log(f"seqt-install-seiscomp: {target} exists (--force replaces it)")
            return 1
    for source, target in items:
        if target.is_symlink() and Path(os.readlink(target)) == source:
            log(f"up to date {target}")
            continue
        log(f"{'copy' if copy else 'link'} {target} -> {source}")
        if dry_run:
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.seqt-tmp")
            if tmp.exists() or tmp.is_symlink():
                tmp.unlink()
            if copy:
                shutil.copy2(source, tmp)
            else:
                os.symlink(source, tmp)
            os.replace(tmp, target)  # atomic: the target is never missing half-way
        except OSError as exc:
            log(f"seqt-install-seiscomp: {target}: {exc.strerror or exc}")
            return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="seqt-install-seiscomp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", default=os.environ.get("SEISCOMP_ROOT"),
                        help="the SeisComP installation (default: $SEISCOMP_ROOT)")
    parser.add_argument("--copy", action="store_true", help="copy the files instead of linking them")
    parser.add_argument("--force", action="store_true", help="replace existing files")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be done")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 255
    if not args.root:
        print("seqt-install-seiscomp: give SEISCOMP_ROOT (or set $SEISCOMP_ROOT)", file=sys.stderr)
        return 255
    return install(Path(args.root), copy=args.copy, force=args.force, dry_run=args.dry_run,
                   log=lambda text: print(text, file=sys.stderr))


if __name__ == "__main__":
    sys.exit(main())
