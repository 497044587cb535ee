"""Run by .ci/install-matrix with a fresh venv's python, outside the checkout: does what the
installed extras promise import and work?

    python install_check.py EXTRAS      # EXTRAS: "" or e.g. "catalog,ray"
    python install_check.py --compare BASE.json OTHER.json   # pip --dry-run --report files

Prints one line ``numpy=… tensorflow=… [pandas=… pyocto=… pyrocko=… ray=…]`` and exits 0, or
prints ``FAIL <what>: <error>`` (one line) and exits 1.
"""

import os
import sys
import tempfile
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def base(versions):
    """The base package: every module's entry point imports, and the EqT model builds from the
    installed (sha256-checked) weights and predicts one window."""
    import importlib
    from importlib.metadata import version

    import numpy as np

    import seqt_plugins

    if "site-packages" not in seqt_plugins.__file__:
        raise RuntimeError(f"seqt_plugins imported from {seqt_plugins.__file__}, not the installed package")
    for module in ("seqtpick", "seqtrepick", "seqtxml", "seqttrain", "seqtcatalog"):
        importlib.import_module(f"seqt_plugins.modules.{module}")
    import h5py  # noqa: F401
    import lxml.etree  # noqa: F401
    import matplotlib  # noqa: F401
    import obspy  # noqa: F401
    import yaml  # noqa: F401

    from seqt_plugins.eqt import load_eqt

    model = load_eqt("original")
    detection, p, s = model.predict(np.random.default_rng(0).standard_normal((1, 6000, 3)).astype("float32"))
    if detection.shape != (1, 6000) or not all(np.isfinite(a).all() for a in (detection, p, s)):
        raise RuntimeError(f"EqT prediction has shape {detection.shape} or non-finite values")
    versions.update(numpy=np.__version__, tensorflow=version("tensorflow"))


def catalog(versions):
    """seqt-catalog's association: pandas, PyOcto, and pyrocko's eikonal solver building a small
    1-D travel-time table (the path a layered velocity model takes)."""
    import pandas
    import pyocto
    import pyrocko

    from seqt_plugins.catalog.velocity import Layer, LayeredModel, pyocto_velocity_model

    layered = LayeredModel((Layer(0.0, 5.5, 3.2), Layer(10.0, 6.5, 3.7)), name="install-check")
    with tempfile.TemporaryDirectory() as cache:
        pyocto_velocity_model(layered, 1.0, xdist=20.0, zdist=20.0, delta=1.0, cache_dir=cache)
    versions.update(pandas=pandas.__version__, pyocto=getattr(pyocto, "__version__", "?"),
                    pyrocko=pyrocko.__version__)


def ray(versions):
    import ray as ray_module

    import seqt_plugins.scale.ray_backend  # noqa: F401

    versions.update(ray=ray_module.__version__)


def test(versions):
    """The test extra: pytest and the real FDSN server the tests start (with its indexer)."""
    import shutil
    import subprocess

    import portable_fdsnws_dataselect  # noqa: F401
    import pytest  # noqa: F401
    import pytest_timeout  # noqa: F401

    bindir = os.path.dirname(sys.executable)
    for program in ("mseedindex", "portable-fdsnws-dataselect"):
        if not shutil.which(program, path=bindir):
            raise RuntimeError(f"{program} not installed in {bindir}")
    subprocess.run([os.path.join(bindir, "mseedindex"), "-V"], capture_output=True, check=False, timeout=60)
    catalog(versions)  # the tests run the catalog and Ray paths too
    ray(versions)


def resolved(path):
    """{normalized name: version} of a ``pip install --dry-run --report`` file."""
    import json
    import re

    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    return {re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower(): item["metadata"]["version"]
            for item in report["install"]}


def compare(base_report, other_report):
    """A later ``pip install`` of the other set must not change any package the base resolved:
    the same version of each, else one FAIL line naming the first ones that differ."""
    base_versions, other = resolved(base_report), resolved(other_report)
    changed = [f"{name} {version}->{other.get(name, 'absent')}" for name, version in sorted(base_versions.items())
               if other.get(name) != version]
    if changed:
        print(f"FAIL resolves differently from '.': {', '.join(changed[:4])}" + (" ..." if len(changed) > 4 else ""))
        return 1
    print(f"numpy={other.get('numpy')} tensorflow={other.get('tensorflow')} "
          f"({len(other)} packages, {len(other) - len(base_versions)} beyond '.')")
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "--compare":
        return compare(argv[2], argv[3])
    extras = [e for e in (argv[1] if len(argv) > 1 else "").split(",") if e]
    checks = [("base", base)] + [(e, globals()[e]) for e in extras]
    versions = {}
    for name, check in checks:
        try:
            check(versions)
        except BaseException as exc:  # noqa: BLE001 - one line per failing combination
            last = traceback.extract_tb(exc.__traceback__)[-1]
            message = str(exc).splitlines()[0] if str(exc) else ""
            print(f"FAIL {name}: {type(exc).__name__}: {message} ({os.path.basename(last.filename)}:{last.lineno})")
            return 1
    print(" ".join(f"{k}={v}" for k, v in versions.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
