"""seqt-train: train an S-EqT Siamese head (P or S branch) on STEAD-format data.

    seqt-train --hdf5 merged.hdf5 --csv merged.csv --branch P --steps 20000 \\
               --batch-size 8 --checkpoint-dir ckpt-P [--resume] [--seed 0]

Pairs are traces of one ``source_id`` at different stations; augmentation, labels and loss as
in the authors' training script (Xiao et al. 2021), so a head trained here can replace theirs;
EqT (conservative, the weights their heads were trained on) stays frozen. Checkpoints go to
``--checkpoint-dir`` every ``--checkpoint-every`` steps; ``--resume`` continues from the newest
one (``--steps`` is the total). The trained head is written as
``<checkpoint-dir>/S_EqT_<branch>_branch.hdf5``, in the authors' file layout, so the re-picker
loads it like the published files. See ``seqt_plugins.repicker.training`` for the data format.

Logging as the modules (stderr, SeisComP's format and verbosity options ``-v``, ``--debug``,
``--verbosity N``, :mod:`seqt_plugins.modules.logs`): errors are one line, and a finished run
one summary line naming the head file; stdout stays empty. ``--log-level`` is a deprecated
alias of ``--verbosity``. Exit status: 0 ok, 1 bad input or failed training, 255 bad command line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import List, Optional

from seqt_plugins.modules.cli import EXIT_OK
from seqt_plugins.modules.cli import EXIT_RUN as EXIT_FAILED
from seqt_plugins.modules.cli import EXIT_USAGE
from seqt_plugins.modules.cli import ToolArgumentParser as _Parser
from seqt_plugins.modules.logs import add_verbosity_arguments, handlers_for, log_summary, remove_handlers, verbosity_of

log = logging.getLogger("seqt_plugins.modules.seqttrain")
#: --log-level (deprecated) → verbosity
_LOG_LEVELS = {"ERROR": 1, "WARNING": 2, "INFO": 3, "DEBUG": 4}


def _positive(kind):
    def parse(value: str):
        try:
            v = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0: {value!r}")
        return v

    return parse


def build_parser() -> _Parser:
    p = _Parser(prog="seqt-train", description="Train an S-EqT Siamese head on STEAD-format HDF5 + CSV.")
    p.add_argument("--hdf5", required=True, help="STEAD-format HDF5 (data/<trace_name>, (6000, 3) E,N,Z + pick attributes)")
    p.add_argument("--csv", required=True, help="STEAD-format CSV (trace_name, source_id, [trace_category, receiver_code, network_code])")
    p.add_argument("--branch", choices=("P", "S"), default="P", help="which head to train (default P)")
    p.add_argument("--steps", type=_positive(int), default=1000, help="total training steps (default 1000)")
    p.add_argument("--batch-size", type=_positive(int), default=8, help="pairs per step (default 8; the authors used 1)")
    p.add_argument("--lr", type=_positive(float), default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--checkpoint-dir", default="seqt-train-checkpoints", help="checkpoint directory")
    p.add_argument("--checkpoint-every", type=_positive(int), default=500, help="steps between checkpoints (default 500)")
    p.add_argument("--keep-checkpoints", type=int, default=3, help="checkpoints kept (default 3; 0 keeps all)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --checkpoint-dir")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--eqt", default="conservative", help="EqT weights the features come from (default conservative, as the authors)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--log-level", default=None, choices=tuple(_LOG_LEVELS),
                   help="deprecated: use --verbosity (1 error, 2 warning, 3 info, 4 debug), -v or --debug")
    add_verbosity_arguments(p)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    started = time.monotonic()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up lines, as the modules
    args, code = build_parser().parse(argv)
    if args is None:
        return code
    level = _LOG_LEVELS[args.log_level] if args.log_level else 2
    try:
        handlers = handlers_for("seqt-train", args, sys.stderr, verbosity_of(args, level))
    except OSError as exc:  # --log-file in a missing or read-only directory
        sys.stderr.write(f"seqt-train: error: --log-file {args.log_file}: {exc.strerror or exc}\n")
        return EXIT_USAGE
    try:
        if args.log_level:
            log.warning("--log-level is deprecated: use --verbosity %d", level)
        return _train(args, started)
    finally:
        remove_handlers(handlers)


def _train(args, started: float) -> int:
    from seqt_plugins.repicker.training import TrainConfig, train

    cfg = TrainConfig(hdf5=args.hdf5, csv=args.csv, branch=args.branch, steps=args.steps, batch_size=args.batch_size,
                      lr=args.lr, checkpoint_dir=args.checkpoint_dir, checkpoint_every=args.checkpoint_every,
                      keep_checkpoints=args.keep_checkpoints, resume=args.resume, seed=args.seed, eqt=args.eqt,
                      progress=not args.no_progress and verbosity_of(args) > 0)  # -q: no bar, as the modules
    try:
        result = train(cfg)
    except (ValueError, OSError) as err:  # TrainingDataError, SiameseWeightError, WeightError, file errors
        message = " ".join(str(err).split())
        if isinstance(err, OSError) and err.filename and str(err.filename) not in message:
            message = f"{err.filename}: {message}"
        log.error("%s", message)
        return EXIT_FAILED
    losses = result.losses
    tail = f", last loss {losses[-1]:.4f}" if losses else ""
    log_summary(log, started, "trained the %s head from step %d to %d%s: %s", args.branch, result.first_step,
                result.last_step, tail, result.head_path)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
