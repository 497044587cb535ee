"""Training an S-EqT head on STEAD-format data, batched, with checkpoints; pairs, augmentation,
labels and loss as the authors' training script (Xiao et al. 2021), so a head trained here can
replace theirs.

Data (STEAD layout; what is required):

- HDF5: one dataset per trace at ``data/<trace_name>``, shape (6000, 3), channels E, N, Z,
  100 Hz. Attributes ``p_arrival_sample``, ``s_arrival_sample``, ``coda_end_sample`` (scalars or
  STEAD's 1×1 arrays); a missing attribute is taken from the CSV column of the same name.
- CSV: columns ``trace_name`` and ``source_id`` (required); ``trace_category`` (rows that are
  not ``earthquake_local`` are skipped when present); ``receiver_code`` / ``network_code``
  (when present, a pair's two traces come from different stations).

Traces of one ``source_id`` form an event; events with ≥ 2 usable traces (both picks, the P
pick at least 128 samples in so the template cut fits the 47-sample taps, P < S < 6000) are
kept. Each step draws ``batch_size`` pairs: a random event, two distinct traces (template,
search). Template: normalised only. Search: with p = 0.8 rolled right by U[1, 6000 − coda_end −
200) samples (kept only if both picks stay inside), with p = 0.5 plus U(min, max of the trace)
noise × rate, rate ~ U(0, 0.8); then normalised. Label: a 41-sample triangle peaking at the
search's P (P branch) or S (S branch), the target of all 8 outputs. EqT is frozen (features
from ``EqTModel.taps``); loss: binary cross-entropy per output, summed with equal weights; Adam.

Checkpoints: ``<dir>/ckpt-<step>.hdf5`` (the head, in the authors' layout, loadable by
``load_siamese_head``) plus ``<dir>/ckpt-<step>.state.npz`` (optimizer variables, step, random
state), written atomically, the state file last; the newest complete pair is the one resumed.
At the end the head is also written to ``<dir>/S_EqT_<branch>_branch.hdf5``.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import siamese

log = logging.getLogger("seqt_plugins.repicker.training")

WINDOW = siamese.WINDOW
MIN_P = 128  # ⌊(p/6000)·47⌋ − 1 ≥ 0 needs p ≥ 128
_CKPT = re.compile(r"^ckpt-(\d+)\.state\.npz$")


class TrainingDataError(ValueError):
    """STEAD-format input that cannot be used (one line, naming the file)."""


@dataclass
class TrainConfig:
    hdf5: str
    csv: str
    branch: str = "P"
    steps: int = 1000
    batch_size: int = 8
    lr: float = 1e-3
    checkpoint_dir: str = "seqt-train-checkpoints"
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    resume: bool = False
    seed: int = 0
    eqt: str = "conservative"
    shift_prob: float = 0.8
    noise_prob: float = 0.5
    noise_max_rate: float = 0.8
    progress: bool = True


@dataclass
class Trace:
    name: str
    station: str
    p: int
    s: int
    coda_end: int


@dataclass
class TrainResult:
    losses: List[float] = field(default_factory=list)
    first_step: int = 0
    last_step: int = 0
    head_path: Optional[Path] = None
    head: object = None


# -- data ------------------------------------------------------------------------------------------
def _scalar(v) -> Optional[float]:
    if v is None:
        return None
    try:
        a = np.asarray(v, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    return float(a[0]) if a.size and np.isfinite(a[0]) else None


class SteadPairs:
    """Events of a STEAD-format HDF5 + CSV, and the (template, search) pairs drawn from them."""

    def __init__(self, hdf5: str, csv_path: str):
        import h5py

        self.hdf5_path, self.csv_path = Path(hdf5), Path(csv_path)
        for p in (self.hdf5_path, self.csv_path):
            if not p.is_file():
                raise TrainingDataError(f"{p}: file not found")
        try:
            self._h5 = h5py.File(self.hdf5_path, "r")
        except OSError as err:
            raise TrainingDataError(f"{self.hdf5_path}: cannot read as HDF5 ({str(err).splitlines()[0]})") from None
        if "data" not in self._h5:
            raise TrainingDataError(f"{self.hdf5_path}: no 'data' group (STEAD layout: data/<trace_name>)")
        events: Dict[str, List[Trace]] = {}
        with open(self.csv_path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = {"trace_name", "source_id"} - set(reader.fieldnames or [])
            if missing:
                raise TrainingDataError(f"{self.csv_path}: missing column(s) {sorted(missing)}")
            for row in reader:
                if row.get("trace_category", "earthquake_local") not in ("earthquake_local", ""):
                    continue
                trace = self._trace(row)
                if trace is not None:
                    events.setdefault(row["source_id"], []).append(trace)
        self.events = [(sid, ts) for sid, ts in sorted(events.items()) if len({t.station for t in ts}) >= 2]
        if not self.events:
            raise TrainingDataError(f"{self.csv_path}: no event with usable traces at two or more stations")
        log.info("%s: %d events, %d traces usable for pairs", self.csv_path, len(self.events),
                 sum(len(ts) for _, ts in self.events))

    def _trace(self, row) -> Optional[Trace]:
        name = row["trace_name"]
        ds = self._h5["data"].get(name)
        if ds is None or ds.shape != (WINDOW, 3):
            log.debug("skipping %s: not in the HDF5 or not (6000, 3)", name)
            return None
        vals = {}
        for key in ("p_arrival_sample", "s_arrival_sample", "coda_end_sample"):
            v = _scalar(ds.attrs.get(key))
            vals[key] = v if v is not None else _scalar(row.get(key) or None)
        p, s, coda = vals["p_arrival_sample"], vals["s_arrival_sample"], vals["coda_end_sample"]
        if p is None or s is None or not (MIN_P <= p < s < WINDOW):
            return None
        coda = min(max(coda if coda is not None else s, s), WINDOW - 1)
        station = f"{row.get('network_code', '')}.{row.get('receiver_code', '')}"
        if station == ".":
            station = name  # no station columns: every trace counts as its own station
        return Trace(name, station, int(p), int(s), int(coda))

    def close(self):
        self._h5.close()

    def waveform(self, trace: Trace) -> np.ndarray:
        return np.asarray(self._h5["data"][trace.name], dtype=np.float64)

    def draw(self, rng: np.random.Generator) -> Tuple[Trace, Trace]:
        _, traces = self.events[rng.integers(len(self.events))]
        while True:
            i, j = rng.choice(len(traces), 2, replace=False)
            if traces[i].station != traces[j].station:
                return traces[i], traces[j]


def normalize(x: np.ndarray) -> np.ndarray:
    """Per-component demean and divide by the std (0 → 1), float32."""
    x = x - x.mean(axis=0, keepdims=True)
    std = x.std(axis=0, keepdims=True)
    std[std == 0] = 1.0
    return (x / std).astype(np.float32)


def shift_event(x: np.ndarray, p: int, s: int, coda_end: int, rng, prob: float = 0.8):
    """Roll right by U[1, 6000 − coda_end − 200) samples with probability ``prob``; kept only if
    P and S stay in the window. Returns (x, p, s)."""
    if rng.uniform() < prob and WINDOW - coda_end - 200 > 1:
        n = int(rng.uniform(1, WINDOW - coda_end - 200))
        if p + n < WINDOW and s + n < WINDOW:
            return np.roll(x, n, axis=0), p + n, s + n
    return x, p, s


def add_noise(x: np.ndarray, rng, prob: float = 0.5, max_rate: float = 0.8) -> np.ndarray:
    """With probability ``prob`` add U(min x, max x) noise × rate, rate ~ U(0, max_rate)."""
    if rng.uniform() < prob:
        noise = rng.uniform(x.min(), x.max(), size=x.shape)
        x = x + noise * rng.uniform(0.0, max_rate)
    return x


def triangle_label(sample: int, length: int = WINDOW, half: int = 20) -> np.ndarray:
    """0 … 1 … 0 over 2·half + 1 samples centred on ``sample`` (clipped at the window edges)."""
    y = np.zeros(length, np.float32)
    k = np.arange(-half, half + 1)
    idx = sample + k
    ok = (idx >= 0) & (idx < length)
    y[idx[ok]] = 1.0 - np.abs(k[ok]) / half
    return y


def make_batch(data: SteadPairs, rng, n: int, branch: str, cfg: TrainConfig):
    """n pairs: template windows, template picks (tP, tS), search windows, labels (n, 6000)."""
    tw, sw, tp, ts, labels = [], [], [], [], []
    for _ in range(n):
        t, s = data.draw(rng)
        tw.append(normalize(data.waveform(t)))
        tp.append(t.p)
        ts.append(t.s)
        x, p, sp = shift_event(data.waveform(s), s.p, s.s, s.coda_end, rng, cfg.shift_prob)
        x = add_noise(x, rng, cfg.noise_prob, cfg.noise_max_rate)
        sw.append(normalize(x))
        labels.append(triangle_label(p if branch == "P" else sp))
    return np.stack(tw), np.array(tp), np.array(ts), np.stack(sw), np.stack(labels)


# -- checkpoints -------------------------------------------------------------------------------------
def latest_checkpoint(directory) -> Optional[Tuple[int, Path]]:
    """(step, state path) of the newest complete checkpoint in ``directory``, or None."""
    d = Path(directory)
    if not d.is_dir():
        return None
    found = []
    for p in d.iterdir():
        m = _CKPT.match(p.name)
        if m and (d / f"ckpt-{m.group(1)}.hdf5").is_file():
            found.append((int(m.group(1)), p))
    return max(found) if found else None


def save_checkpoint(directory, step: int, head, optimizer, rng, branch: str, keep: int = 3) -> Path:
    from seqt_plugins.io.atomic import atomic_write

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    head_path = siamese.save_siamese_head(head, d / f"ckpt-{step:08d}.hdf5", attrs={"branch": branch, "step": step})
    opt = {f"opt_{i:04d}": np.asarray(v) for i, v in enumerate(optimizer.variables)}
    meta = json.dumps({"step": step, "branch": branch, "rng": rng.bit_generator.state})
    with atomic_write(d / f"ckpt-{step:08d}.state.npz") as f:
        np.savez(f, meta=np.array(meta), **opt)
    old = sorted(int(m.group(1)) for m in (_CKPT.match(p.name) for p in d.iterdir()) if m)
    for s in old[:-keep] if keep > 0 else []:
        for p in (d / f"ckpt-{s:08d}.hdf5", d / f"ckpt-{s:08d}.state.npz"):
            p.unlink(missing_ok=True)
    log.info("checkpoint %s", head_path)
    return head_path


def load_checkpoint(state_path: Path, head, optimizer, rng, branch: str) -> int:
    head_path = state_path.with_name(state_path.name.replace(".state.npz", ".hdf5"))
    siamese.assign_head_weights(head, head_path)
    with np.load(state_path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta["branch"] != branch:
            raise TrainingDataError(f"{state_path}: a {meta['branch']}-branch checkpoint, training {branch}")
        opt = [z[k] for k in sorted(k for k in z.files if k.startswith("opt_"))]
    if len(opt) != len(optimizer.variables):
        raise TrainingDataError(f"{state_path}: {len(opt)} optimizer variables, expected {len(optimizer.variables)}")
    for var, value in zip(optimizer.variables, opt):
        var.assign(value)
    rng.bit_generator.state = meta["rng"]
    return int(meta["step"])


# -- training ------------------------------------------------------------------------------------------
def _train_step_fn(head, optimizer):
    import keras
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(inputs, y):
        with tf.GradientTape() as tape:
            outs = head(inputs, training=True)
            losses = [tf.reduce_mean(keras.losses.binary_crossentropy(y, o)) for o in outs]
            loss = tf.add_n(losses)
        grads = tape.gradient(loss, head.trainable_variables)
        optimizer.apply_gradients(zip(grads, head.trainable_variables))
        return loss

    return step


def train(cfg: TrainConfig, eqt=None) -> TrainResult:
    """Train one branch for ``cfg.steps`` steps in total (a resumed run continues the count)."""
    import keras

    from seqt_plugins.progress import progress

    branch = siamese._branch(cfg.branch)
    if cfg.batch_size < 1 or cfg.steps < 0 or cfg.checkpoint_every < 1:
        raise ValueError("batch size and checkpoint interval must be ≥ 1, steps ≥ 0")
    data = SteadPairs(cfg.hdf5, cfg.csv)  # input errors before the slow EqT load
    if eqt is None:
        from seqt_plugins.eqt import load_eqt

        eqt = load_eqt(cfg.eqt)
    rng = np.random.default_rng(cfg.seed)
    keras.utils.set_random_seed(cfg.seed)
    head = siamese.build_siamese_head()
    optimizer = keras.optimizers.Adam(learning_rate=cfg.lr)
    optimizer.build(head.trainable_variables)
    start = 0
    if cfg.resume:
        latest = latest_checkpoint(cfg.checkpoint_dir)
        if latest is None:
            log.info("no checkpoint in %s: starting from scratch", cfg.checkpoint_dir)
        else:
            start = load_checkpoint(latest[1], head, optimizer, rng, branch)
            log.info("resumed from %s at step %d", latest[1], start)
    names = siamese.tap_names(branch)
    step_fn = _train_step_fn(head, optimizer)
    result = TrainResult(first_step=start, last_step=start, head=head)
    bar = progress(total=cfg.steps, initial=min(start, cfg.steps), enabled=cfg.progress, desc=f"seqt-train {branch}")
    try:
        for step in range(start, cfg.steps):
            tw, tp, ts, sw, labels = make_batch(data, rng, cfg.batch_size, branch, cfg)
            _, feats = eqt.taps(names, np.concatenate([tw, sw]), batch_size=2 * cfg.batch_size)
            n = cfg.batch_size
            inputs = siamese.head_inputs({k: v[:n] for k, v in feats.items()}, {k: v[n:] for k, v in feats.items()},
                                         tp, ts, branch)
            loss = float(step_fn(inputs, labels[..., None]))
            result.losses.append(loss)
            result.last_step = step + 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
            log.debug("step %d loss %.5f", step + 1, loss)
            if (step + 1) % cfg.checkpoint_every == 0 and step + 1 < cfg.steps:
                save_checkpoint(cfg.checkpoint_dir, step + 1, head, optimizer, rng, branch, cfg.keep_checkpoints)
    finally:
        bar.close()
        data.close()
    Path(cfg.checkpoint_dir).mkdir(parents=True, exist_ok=True)
    if result.last_step > start:
        save_checkpoint(cfg.checkpoint_dir, result.last_step, head, optimizer, rng, branch, cfg.keep_checkpoints)
    result.head_path = siamese.save_siamese_head(
        head, Path(cfg.checkpoint_dir) / f"S_EqT_{branch}_branch.hdf5", attrs={"branch": branch, "step": result.last_step})
    log.info("trained %s branch to step %d; head written to %s", branch, result.last_step, result.head_path)
    return result
