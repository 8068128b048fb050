"""`python -m audiornn.train DATASET --run DIR`: teacher-forced many-to-many training.

Every window of T codes scores T - burn_in next-code predictions in one pass
(the original AudioRNN scored one per 1000-sample window). Training is made of
Keras callbacks: BackupAndRestore (resume after any kill), ModelCheckpoint
(best validation loss, published atomically as model.keras), CSVLogger,
EarlyStopping, TensorBoard, and a preview-sample writer.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from audiornn import __version__, cli
from audiornn.dataset import Dataset, open_dataset
from audiornn.errors import AudioRNNError
from audiornn.model import (
    RUN_FORMAT,
    RUN_VERSION,
    ModelConfig,
    build_model,
    read_run_config,
    write_json_atomic,
)
from audiornn.sequence import WindowSequence

log = logging.getLogger("audiornn.train")
PROG = "python -m audiornn.train"
LN2 = math.log(2.0)


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; the fields are the CLI's defaults."""

    window: int = 1024
    burn_in: int = 64
    batch_size: int = 32
    epochs: int = 20
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    patience: int = 5
    seed: int = 0
    val_windows: int = 256
    sample_every: int = 0
    sample_seconds: float = 2.0
    strategy: str = "auto"
    mixed_precision: bool = False
    max_minutes: float = 0.0

    def validate(self) -> None:
        if self.window < 2:
            raise AudioRNNError(f"--window must be >= 2, got {self.window}")
        if not 0 <= self.burn_in < self.window:
            raise AudioRNNError(f"--burn-in must be in [0, window), got {self.burn_in}")
        if self.batch_size < 1 or self.epochs < 1:
            raise AudioRNNError("--batch-size and --epochs must be positive")
        if not self.learning_rate > 0:
            raise AudioRNNError(f"--learning-rate must be > 0, got {self.learning_rate}")
        if self.strategy not in ("auto", "mirrored", "multiworker"):
            raise AudioRNNError("--strategy must be auto, mirrored or multiworker")


# The default size for effect datasets: amp and pedal models are small LSTMs, and
# 1 x 32 applies an input-only model at ~70x real time on a 2-core CPU (the
# 2 x 256 default of the other jobs: ~2.5x). --layers/--units override it.
EFFECT_SIZE = {"layers": 1, "units": 32}
EFFECT_LEARNING_RATE = 5e-3  # a small model takes a larger step

# Settings that may differ when a run is resumed (everything else must match).
RESUMABLE = {"epochs", "patience", "sample_every", "sample_seconds", "strategy", "max_minutes"}


@keras.saving.register_keras_serializable(package="audiornn")
class BitsPerSample(keras.metrics.Mean):
    """Cross-entropy in bits per sample (loss / ln 2), weighted like the loss."""

    def __init__(self, name="bits", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        return super().update_state(ce / LN2, sample_weight=sample_weight)


def compile_model(model: keras.Model, learning_rate: float) -> None:
    """Adam with gradient clipping; sparse CE on logits, averaged over scored positions."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                          BitsPerSample()],
    )


def model_config_for(dataset: Dataset, base: ModelConfig) -> ModelConfig:
    """Adds the conditioning inputs a dataset's job needs to an architecture."""
    return dataclasses.replace(base, dry_input="input" in dataset.streams,
                               feedback=base.feedback or "input" not in dataset.streams,
                               n_labels=len(dataset.labels))


def make_strategy(name: str) -> tf.distribute.Strategy:
    """auto: default device; mirrored: all GPUs (or all logical CPUs); multiworker: TF_CONFIG."""
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        cpus = tf.config.list_logical_devices("CPU")
        devices = [d.name for d in gpus] or [d.name for d in cpus]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise AudioRNNError("--strategy multiworker needs TF_CONFIG describing the cluster")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


# ---------------------------------------------------------------- callbacks


class PinEpoch(keras.callbacks.Callback):
    """Tells the window sequence the epoch number, so a resumed run draws the same windows."""

    def __init__(self, sequence: WindowSequence):
        super().__init__()
        self.sequence = sequence

    def on_epoch_begin(self, epoch, logs=None):
        self.sequence.set_epoch(epoch)


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the epoch in which `minutes` of training have passed."""

    def __init__(self, minutes: float):
        super().__init__()
        self.seconds = 60.0 * minutes
        self.start = None

    def on_train_begin(self, logs=None):
        import time

        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        import time

        if time.monotonic() - self.start >= self.seconds:
            log.info("--max-minutes reached after epoch %d", epoch + 1)
            self.model.stop_training = True


class PublishBest(keras.callbacks.Callback):
    """Renames ModelCheckpoint's newest file to model.keras (atomic: a rename)."""

    def __init__(self, run_dir: Path):
        super().__init__()
        self.run_dir = run_dir

    def on_epoch_end(self, epoch, logs=None):
        found = sorted(self.run_dir.glob(".best-epoch*.keras"))
        if found:
            os.replace(found[-1], self.run_dir / "model.keras")
            for f in found[:-1]:
                f.unlink(missing_ok=True)


class PreviewSamples(keras.callbacks.Callback):
    """Writes a short generated WAV to RUN/samples/ every N epochs."""

    def __init__(self, run_dir: Path, every: int, seconds: float, config: dict):
        super().__init__()
        self.run_dir, self.every, self.seconds, self.config = run_dir, every, seconds, config

    def on_epoch_end(self, epoch, logs=None):
        if self.every <= 0 or (epoch + 1) % self.every:
            return
        from audiornn.generate import Generator

        gen = Generator(self.model, self.config)
        out = self.run_dir / "samples" / f"epoch{epoch + 1:04d}.wav"
        out.parent.mkdir(exist_ok=True)
        gen.write(out, seconds=self.seconds, seed=epoch, progress=False)
        log.info("preview written to %s", out)


# ---------------------------------------------------------------- training


def _history_rows(run_dir: Path) -> list[dict]:
    path = run_dir / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _check_resume(saved: dict, model_cfg: ModelConfig, train_cfg: TrainConfig,
                  dataset: Dataset, run_dir: Path) -> None:
    want = {**dataclasses.asdict(model_cfg), **dataclasses.asdict(train_cfg)}
    have = {**saved["model"], **saved["train"]}
    for key, value in want.items():
        if key in RESUMABLE or key not in have:
            continue
        if have[key] != value:
            flag = "--" + key.replace("_", "-")
            raise AudioRNNError(f"{run_dir}: --resume with {flag} {value}, but the run was "
                                f"started with {have[key]}; use the same settings or a new --run")
    if saved["dataset"]["fingerprint"] != dataset.fingerprint:
        raise AudioRNNError(f"{run_dir}: --resume with a different dataset than the run's "
                            f"({saved['dataset']['path']})")


def train(dataset_path: str | os.PathLike, run_dir: str | os.PathLike,
          model_cfg: ModelConfig | None = None, train_cfg: TrainConfig | None = None, *,
          resume: bool = False, tensorboard: bool = False, verbose: int | str = "auto") -> dict:
    """Trains a model on a dataset directory into a run directory.

    Args:
      dataset_path: a dataset built by `python -m audiornn.data`.
      run_dir: where config.json, model.keras, history.csv and the backup go.
      model_cfg: the architecture (conditioning inputs are set from the dataset).
      train_cfg: the training settings.
      resume: continue a run from its last completed epoch.
      tensorboard: also write TensorBoard logs to RUN/tensorboard.
      verbose: passed to `model.fit` (its own progress bar).

    Returns:
      The history: a dict of metric name -> list of per-epoch values.
    """
    model_cfg = model_cfg or ModelConfig()
    train_cfg = train_cfg or TrainConfig()
    train_cfg.validate()
    dataset = open_dataset(dataset_path)
    model_cfg = model_config_for(dataset, model_cfg)
    model_cfg.validate()
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise AudioRNNError(f"{run_dir}: exists and is not a directory")
    has_run = (run_dir / "config.json").exists()
    if resume and not has_run:
        raise AudioRNNError(f"{run_dir}: nothing to resume (no config.json)")
    if has_run and not resume:
        raise AudioRNNError(f"{run_dir}: already holds a run (use --resume to continue it, "
                            "or choose another --run)")
    if resume:
        _check_resume(read_run_config(run_dir), model_cfg, train_cfg, dataset, run_dir)
    if train_cfg.mixed_precision:
        if tf.config.list_physical_devices("GPU"):
            keras.mixed_precision.set_global_policy("mixed_float16")
        else:
            log.warning("--mixed-precision ignored: no GPU is visible")

    inputs = model_cfg.input_names
    start_mode = "segment" if dataset.job == "oneshot" else "random"
    train_seq = WindowSequence(dataset, "train", train_cfg.window, train_cfg.burn_in,
                               train_cfg.batch_size, steps=train_cfg.steps_per_epoch,
                               seed=train_cfg.seed, inputs=inputs, start_mode=start_mode)
    val_seq = None
    if dataset.split("val"):
        try:
            val_seq = WindowSequence(dataset, "val", train_cfg.window, train_cfg.burn_in,
                                     train_cfg.batch_size, seed=train_cfg.seed, inputs=inputs,
                                     start_mode=start_mode, max_windows=train_cfg.val_windows)
            if len(val_seq) == 0:
                val_seq = None
        except AudioRNNError:
            val_seq = None
    if val_seq is None:
        log.warning("no validation windows: monitoring the training loss instead")
    monitor = "val_loss" if val_seq is not None else "loss"

    run_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "format": RUN_FORMAT,
        "version": RUN_VERSION,
        "created_by": f"audiornn {__version__}",
        "dsp": dataset.dsp_settings(),
        "model": dataclasses.asdict(model_cfg),
        "train": dataclasses.asdict(train_cfg),
        "dataset": {"path": str(Path(dataset_path).resolve()),
                    "fingerprint": dataset.fingerprint},
    }
    if not has_run:
        write_json_atomic(run_dir / "config.json", config)
    else:  # keep the original, with the settings that may change on resume updated
        saved = read_run_config(run_dir)
        saved["train"].update({k: v for k, v in config["train"].items() if k in RESUMABLE})
        write_json_atomic(run_dir / "config.json", saved)

    keras.utils.set_random_seed(train_cfg.seed)
    strategy = make_strategy(train_cfg.strategy)
    with strategy.scope():
        model = build_model(model_cfg)
        compile_model(model, train_cfg.learning_rate)

    checkpoint = keras.callbacks.ModelCheckpoint(
        str(run_dir / ".best-epoch{epoch:04d}.keras"), monitor=monitor, save_best_only=True)
    previous = [float(r[monitor]) for r in _history_rows(run_dir) if r.get(monitor)]
    if resume and previous and (run_dir / "model.keras").exists():
        checkpoint.best = min(previous)
    callbacks = [
        PinEpoch(train_seq),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        checkpoint,
        PublishBest(run_dir),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resume),
        keras.callbacks.EarlyStopping(monitor=monitor, patience=train_cfg.patience),
    ]
    if train_cfg.max_minutes:
        callbacks.append(TimeBudget(train_cfg.max_minutes))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    if train_cfg.sample_every:
        callbacks.append(PreviewSamples(run_dir, train_cfg.sample_every,
                                        train_cfg.sample_seconds, config))
    history = model.fit(train_seq, validation_data=val_seq, epochs=train_cfg.epochs,
                        callbacks=callbacks, verbose=verbose)
    return history.history


# ---------------------------------------------------------------- CLI


def make_parser():
    m, t = ModelConfig(), TrainConfig()
    p = cli.parser(PROG, "Train a sample-level recurrent model on a dataset directory.")
    p.add_argument("dataset", metavar="DATASET", help="a dataset directory (python -m audiornn.data)")
    p.add_argument("--run", required=True, help="run directory to create (or --resume)")
    p.add_argument("--window", type=cli.positive_int, default=None,
                   help=f"codes per training window, T (default {t.window}; one-shots: the hit length)")
    p.add_argument("--burn-in", type=cli.nonneg_int, default=None,
                   help=f"leading positions of each window that are not scored (default {t.burn_in}; "
                        "one-shots: 0, windows start from silence)")
    p.add_argument("--cell", choices=["lstm", "gru"], default=m.cell)
    p.add_argument("--layers", type=cli.positive_int, default=None,
                   help=f"recurrent layers (default {m.layers}; effects {EFFECT_SIZE['layers']})")
    p.add_argument("--units", type=cli.positive_int, default=None,
                   help=f"units per layer (default {m.units}; effects {EFFECT_SIZE['units']})")
    p.add_argument("--dropout", type=float, default=m.dropout)
    p.add_argument("--no-feedback", action="store_true",
                   help="effects: an input-only model (one parallel pass when applied)")
    p.add_argument("--batch-size", type=cli.positive_int, default=t.batch_size)
    p.add_argument("--epochs", type=cli.positive_int, default=t.epochs)
    p.add_argument("--steps-per-epoch", type=cli.positive_int, default=None,
                   help="batches per epoch (default: one pass over the training codes)")
    p.add_argument("--learning-rate", type=cli.positive_float, default=None,
                   help=f"Adam's step size (default {t.learning_rate}; effects {EFFECT_LEARNING_RATE})")
    p.add_argument("--patience", type=cli.positive_int, default=t.patience,
                   help="epochs without validation improvement before stopping")
    p.add_argument("--seed", type=int, default=t.seed)
    p.add_argument("--max-minutes", type=cli.positive_float, default=None,
                   help="stop after the epoch in which this much training time has passed")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs")
    p.add_argument("--sample-every", type=cli.nonneg_int, default=0, metavar="N",
                   help="write a short preview WAV to RUN/samples every N epochs")
    p.add_argument("--strategy", choices=["auto", "mirrored", "multiworker"], default=t.strategy)
    p.add_argument("--mixed-precision", action="store_true", help="float16 compute on a GPU")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging()

    def body():
        from audiornn.dataset import read_meta

        meta = read_meta(args.dataset)
        job = meta.get("job", "generate")
        size = EFFECT_SIZE if job == "effect" else {}
        window, burn_in = args.window, args.burn_in
        if job == "oneshot":  # whole hits from silence: nothing to burn in
            window = window or int(meta["oneshot"]["length_samples"])
            burn_in = 0 if burn_in is None else burn_in
        window = window or TrainConfig.window
        burn_in = TrainConfig.burn_in if burn_in is None else burn_in
        layers = args.layers or size.get("layers", ModelConfig.layers)
        units = args.units or size.get("units", ModelConfig.units)
        model_cfg = ModelConfig(cell=args.cell, layers=layers, units=units,
                                dropout=args.dropout, feedback=not args.no_feedback)
        train_cfg = TrainConfig(window=window, burn_in=burn_in,
                                batch_size=args.batch_size, epochs=args.epochs,
                                steps_per_epoch=args.steps_per_epoch,
                                learning_rate=args.learning_rate or (
                                    EFFECT_LEARNING_RATE if job == "effect"
                                    else TrainConfig.learning_rate),
                                patience=args.patience,
                                seed=args.seed, sample_every=args.sample_every,
                                strategy=args.strategy, mixed_precision=args.mixed_precision,
                                max_minutes=args.max_minutes or 0.0)
        history = train(args.dataset, args.run, model_cfg, train_cfg, resume=args.resume,
                        tensorboard=args.tensorboard, verbose=0 if args.quiet else "auto")
        key = "val_bits" if history.get("val_bits") else "bits"
        if history.get(key):
            best = float(np.min(history[key]))
            print(f"run written to {args.run}: best {key.replace('_', ' ')} "
                  f"{best:.3f} bits/sample (model.keras, history.csv, config.json)")
        else:
            print(f"run {args.run} was already complete")

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
