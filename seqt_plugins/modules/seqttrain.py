"""seqt-train: train an S-EqT Siamese head (P or S branch) on STEAD-format data.

    seqt-train --hdf5 merged.hdf5 --csv merged.csv --branch P --steps 20000 \\
               --batch-size 8 --checkpoint-dir ckpt-P [--resume] [--seed 0]

Pairs are traces of one ``source_id`` at different stations; augmentation, labels and loss as
the authors' training (spec ``seqt.md`` §7); EqT (conservative) stays frozen. Checkpoints go to
``--checkpoint-dir`` every ``--checkpoint-every`` steps; ``--resume`` continues from the newest
one (``--steps`` is the total). The trained head is written as
``<checkpoint-dir>/S_EqT_<branch>_branch.hdf5``, in the authors' file layout, so the re-picker
loads it like the published files. See ``seqt_plugins.repicker.training`` for the data format.

Exit status: 0 ok, 1 bad input or failed training, 255 bad command line. Errors are one line.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

from seqt_plugins.modules.cli import EXIT_OK
from seqt_plugins.modules.cli import EXIT_RUN as EXIT_FAILED
from seqt_plugins.modules.cli import ToolArgumentParser as _Parser


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
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="logging level")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args, code = build_parser().parse(argv)
    if args is None:
        return code
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from seqt_plugins.repicker.training import TrainConfig, train

    cfg = TrainConfig(hdf5=args.hdf5, csv=args.csv, branch=args.branch, steps=args.steps, batch_size=args.batch_size,
                      lr=args.lr, checkpoint_dir=args.checkpoint_dir, checkpoint_every=args.checkpoint_every,
                      keep_checkpoints=args.keep_checkpoints, resume=args.resume, seed=args.seed, eqt=args.eqt,
                      progress=not args.no_progress)
    try:
        result = train(cfg)
    except (ValueError, OSError) as err:  # TrainingDataError, SiameseWeightError, WeightError, file errors
        message = " ".join(str(err).split())
        if isinstance(err, OSError) and err.filename and str(err.filename) not in message:
            message = f"{err.filename}: {message}"
        sys.stderr.write(f"seqt-train: {message}\n")
        return EXIT_FAILED
    losses = result.losses
    tail = f", last loss {losses[-1]:.4f}" if losses else ""
    print(f"{result.head_path} (step {result.last_step}{tail})")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
