"""Velocity models for the associator: a 1-D layered model file, or constant vP/vS.

The layered file (the format of ``hengill/velocity_model.txt``, MALMI's ``local.txt``) is plain
text, one layer per line, ``#`` starts a comment::

    # top(km, negative above sea level)  Vp  Vp_gradient  Vs  Vs_gradient  [rho  rho_gradient]
    -0.20 3.32 0.0 1.87 0.0 2.7 0.0
     0.80 4.20 0.0 2.36 0.0 2.7 0.0

NonLinLoc's ``LAYER`` lines are the same columns after the keyword, so a NonLinLoc control file
(or the part of it that holds the model) is read as it is: where any line starts with
``LAYER``, only those lines are layers and the other statements are skipped.

Velocities in km/s, gradients in km/s per km: inside a layer ``v(z) = v_top + gradient·(z − top)``.
The last layer is a half-space; the first one extends up to the surface. Density columns are
read and ignored. At least the first four columns (top, Vp, Vp gradient, Vs) are needed; a
missing Vs gradient counts as 0. A file in another column order (``top Vp Vs ...``, common
elsewhere) would put Vs into the gradient column, so a layer whose Vs is not below its Vp is an
error, and a gradient steeper than ``MAX_GRADIENT`` is a warning naming the line.

PyOcto's :class:`pyocto.VelocityModel1D` needs a travel-time table, which
``VelocityModel1D.create_model`` computes with pyrocko's eikonal solver. The table depends only on
the model, the grid spacing and the extent, so it is cached under ``cache_dir`` (default
``$SEQT_CACHE_DIR`` or ``$XDG_CACHE_HOME/seqt-plugins/pyocto``, else the temp dir) by a hash of
those, and built once (written to a temporary file, then renamed: concurrent runs are safe).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np

log = logging.getLogger("seqt_plugins.catalog")


# km/s per km: crustal gradients are ~0.01-0.1, near-surface ones up to about 1; a column of
# velocities read as gradients (3-8) stands far above this.
MAX_GRADIENT = 2.0


class VelocityModelError(ValueError):
    """A velocity model file that cannot be read (one line naming the file and line)."""


@dataclass(frozen=True)
class Layer:
    top: float  # km, positive down
    vp: float  # km/s at the top
    vs: float
    vp_gradient: float = 0.0  # km/s per km
    vs_gradient: float = 0.0


@dataclass(frozen=True)
class LayeredModel:
    layers: Tuple[Layer, ...]
    name: str = ""

    def velocity(self, depth: float, phase: str = "P") -> float:
        """Velocity (km/s) at ``depth`` km."""
        layer = self.layers[0]
        for cand in self.layers:
            if cand.top <= depth:
                layer = cand
        if phase.upper().startswith("P"):
            return layer.vp + layer.vp_gradient * max(0.0, depth - layer.top)
        return layer.vs + layer.vs_gradient * max(0.0, depth - layer.top)

    def profile(self, max_depth: float, step: float) -> List[Tuple[float, float, float]]:
        """(depth, vp, vs) rows from 0 to ``max_depth`` km as PyOcto's model DataFrame wants them:
        velocities are linear between consecutive rows, so a layer boundary is a row at the
        bottom of the upper layer just above (``step`` / 2) one at the top of the lower layer."""
        rows: List[Tuple[float, float, float]] = []
        eps = step / 2.0
        tops = [max(0.0, ly.top) for ly in self.layers]
        for i, ly in enumerate(self.layers):
            top = tops[i]
            if top >= max_depth:
                break
            bottom = tops[i + 1] if i + 1 < len(self.layers) else max_depth
            bottom = min(bottom, max_depth)
            if bottom <= top:
                continue
            rows.append((top, self.velocity(top, "P"), self.velocity(top, "S")))
            z = max(top, bottom - eps) if i + 1 < len(self.layers) and bottom < max_depth else bottom
            rows.append((z, ly.vp + ly.vp_gradient * (z - ly.top), ly.vs + ly.vs_gradient * (z - ly.top)))
        # drop rows that repeat a depth (PyOcto divides by the depth difference)
        out: List[Tuple[float, float, float]] = []
        for r in rows:
            if out and r[0] <= out[-1][0]:
                continue
            out.append(r)
        return out

    @property
    def surface_vp(self) -> float:
        return self.velocity(0.0, "P")

    @property
    def surface_vs(self) -> float:
        return self.velocity(0.0, "S")

    def digest(self) -> str:
        text = ";".join(f"{ly.top:.6g},{ly.vp:.6g},{ly.vp_gradient:.6g},{ly.vs:.6g},{ly.vs_gradient:.6g}"
                        for ly in self.layers)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def read_layered_model(path: Union[str, os.PathLike]) -> LayeredModel:
    """Read the layered model file (see module doc). Raises :class:`VelocityModelError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise VelocityModelError(f"velocity model {path}: {exc.strerror or exc}") from None
    layers: List[Layer] = []
    lines = [(n, line, line.split("#", 1)[0].replace(",", " ").split()) for n, line in enumerate(text.splitlines(), 1)]
    nonlinloc = any(parts and parts[0].upper() == "LAYER" for _, _, parts in lines)
    for n, line, parts in lines:
        if not parts:
            continue
        if nonlinloc:  # a NonLinLoc control file: its LAYER statements only
            if parts[0].upper() != "LAYER":
                continue
            parts = parts[1:]
        try:
            values = [float(v) for v in parts]
        except ValueError:
            raise VelocityModelError(f"velocity model {path} line {n}: not numbers: {line.strip()!r}") from None
        if len(values) < 4:
            raise VelocityModelError(f"velocity model {path} line {n}: needs at least 4 columns "
                                     f"(top, Vp, Vp gradient, Vs), has {len(values)}")
        top, vp, vpg, vs = values[:4]
        vsg = values[4] if len(values) > 4 else 0.0
        if not (vp > 0 and vs > 0 and np.isfinite([top, vp, vpg, vs, vsg]).all()):
            raise VelocityModelError(f"velocity model {path} line {n}: velocities must be positive")
        if vs >= vp:
            raise VelocityModelError(f"velocity model {path} line {n}: Vs {vs:g} is not below Vp {vp:g}; the "
                                     "columns are top, Vp, Vp gradient, Vs, Vs gradient")
        if max(abs(vpg), abs(vsg)) > MAX_GRADIENT:
            log.warning("velocity model %s line %d: a gradient of %g km/s per km; the columns are top, Vp, "
                        "Vp gradient, Vs, Vs gradient (is a velocity in a gradient column?)", path, n,
                        vpg if abs(vpg) >= abs(vsg) else vsg)
        if layers and top <= layers[-1].top:
            raise VelocityModelError(f"velocity model {path} line {n}: layer tops must increase "
                                     f"({top} after {layers[-1].top})")
        layers.append(Layer(top, vp, vs, vpg, vsg))
    if not layers:
        raise VelocityModelError(f"velocity model {path}: no layers")
    return LayeredModel(tuple(layers), name=path.name)


def default_cache_dir() -> Path:
    env = os.environ.get("SEQT_CACHE_DIR")
    if env:
        return Path(env) / "pyocto"
    xdg = os.environ.get("XDG_CACHE_HOME") or (str(Path.home() / ".cache") if Path.home().is_dir() else "")
    if xdg:
        return Path(xdg) / "seqt-plugins" / "pyocto"
    return Path(tempfile.gettempdir()) / "seqt-plugins-pyocto"


def travel_time_table(model: LayeredModel, xdist: float, zdist: float, delta: float,
                      cache_dir: Optional[Union[str, os.PathLike]] = None) -> Path:
    """Path of PyOcto's travel-time table for ``model`` (built once, then cached).

    ``xdist``/``zdist``: horizontal and vertical extent in km; ``delta``: grid spacing in km.
    """
    import pandas as pd
    import pyocto

    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    # extents rounded up to whole grid cells, so nearby areas share a table
    xdist = float(np.ceil(xdist / delta) * delta)
    zdist = float(np.ceil(zdist / delta) * delta)
    version = getattr(pyocto, "__version__", "")
    key = f"{model.digest()}-{xdist:g}-{zdist:g}-{delta:g}-{version}"
    path = cache / f"tt-{hashlib.sha1(key.encode()).hexdigest()[:20]}.pyocto"
    if path.is_file() and path.stat().st_size > 16:
        return path
    cache.mkdir(parents=True, exist_ok=True)
    rows = model.profile(zdist, delta)
    frame = pd.DataFrame(rows, columns=["depth", "vp", "vs"])
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=cache)
    os.close(fd)
    try:
        log.info("building a %g x %g km travel-time table (%g km grid) for %s in %s", xdist, zdist, delta,
                 model.name or "the velocity model", cache)
        pyocto.VelocityModel1D.create_model(frame, delta, xdist, zdist, tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def pyocto_velocity_model(model: Optional[LayeredModel], tolerance: float, xdist: float = 100.0,
                          zdist: float = 40.0, delta: float = 0.1, vp: float = 6.0, vs: float = 3.4,
                          association_cutoff_distance: Optional[float] = None,
                          cache_dir: Optional[Union[str, os.PathLike]] = None):
    """A PyOcto velocity model: 1-D from ``model`` (travel-time table cached), else 0-D (vp, vs)."""
    import pyocto

    if model is None:
        return pyocto.VelocityModel0D(p_velocity=vp, s_velocity=vs, tolerance=tolerance,
                                      association_cutoff_distance=association_cutoff_distance)
    table = travel_time_table(model, xdist, zdist, delta, cache_dir)
    return pyocto.VelocityModel1D(table, tolerance=tolerance,
                                  association_cutoff_distance=association_cutoff_distance,
                                  surface_p_velocity=model.surface_vp, surface_s_velocity=model.surface_vs)
