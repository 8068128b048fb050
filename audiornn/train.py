"""`python -m audiornn.train DATASET --run DIR`: teacher-forced many-to-many training.

Every window of T codes scores T - burn_in next-code predictions in one pass
(the original AudioRNN scored one per 1000-sample window). Training is made of
Keras callbacks: RunState (runstate.py: the kill-safe backup, model.keras for
the best validation loss, history.csv), EarlyStopping, TensorBoard, and a
preview-sample writer. `--strategy multiworker` is in multiworker.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

import keras
import numpy as np

from audiornn import backend, cli, jobs, multiworker
from audiornn.config import (
    RESUMABLE,
    JobConfig,
    Layout,
    ModelConfig,
    RunConfig,
    TrainConfig,
    read_run_config,
)
from audiornn.dataset import Dataset, open_dataset
from audiornn.errors import AudioRNNError
from audiornn.esr import ESRLoss, esr_metric
from audiornn.metrics import LN2
from audiornn.model import build_model
from audiornn.runstate import RunLock, RunState, clean_partials, restore
from audiornn.sequence import WindowSequence

log = logging.getLogger("audiornn.train")
PROG = "python -m audiornn train"


@keras.saving.register_keras_serializable(package="audiornn")
class BitsPerSample(keras.metrics.Mean):
    """Cross-entropy in bits per sample (loss / ln 2), weighted like the loss."""

    def __init__(self, name="bits", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        return super().update_state(ce / LN2, sample_weight=sample_weight)


def compile_model(model: keras.Model, learning_rate: float, head: str = "classes",
                  burn_in: int = 0) -> None:
    """Adam with gradient clipping; sparse CE on logits, averaged over scored positions.

    The regression head instead minimizes the ESR of the pre-emphasized output
    plus a DC term (esr.py), and reports the plain ESR as "esr".
    """
    if head == "regression":
        model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                      loss=ESRLoss(burn_in), weighted_metrics=[esr_metric(burn_in)])
        return
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                          BitsPerSample()],
    )


def configs_for(meta: dict, options: dict | None = None) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs for a dataset: its job's defaults, then `options`.

    Args:
      meta: the dataset's dataset.json.
      options: field name -> value (None: the default) for ModelConfig and
        TrainConfig fields, plus "embedding" (the code embeddings' size, 64)
        and "feedback" (False: an input-only model, where the job has an input).
    """
    job = jobs.get(meta["job"])
    given = {k: v for k, v in (options or {}).items() if v is not None}
    merged = {**job.train_defaults(meta), **given}
    streams = job.streams(meta, int(merged.get("embedding", 64)), bool(merged.get("feedback", True)),
                          head=merged.get("head", "classes"), latent_dim=merged.get("latent_dim"),
                          position=merged.get("position"))
    arch = {f.name for f in dataclasses.fields(ModelConfig)} - {"streams"}
    model = ModelConfig(streams=streams, **{k: merged[k] for k in arch if k in merged})
    if model.core == "tiered":  # windows and burn-in in whole frames
        for key in ("window", "burn_in"):
            n = merged.get(key, getattr(TrainConfig, key))
            merged[key] = -(-n // model.frame) * model.frame
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return model, TrainConfig(**{k: v for k, v in merged.items() if k in names})


def make_strategy(name: str, cluster: multiworker.Cluster | None = None):
    """The scope training builds its model in, for a `--strategy`.

    auto: the default device; mirrored: all GPUs (or all logical CPUs);
    multiworker: the cluster in TF_CONFIG (multiworker.py). On TensorFlow these
    are `tf.distribute` strategies; on JAX, mirrored is Keras'
    `keras.distribution.DataParallel` over every device (it has no scope: the
    distribution is set globally); multiworker on JAX is the same over every
    process's devices, once `multiworker.join_jax` has joined the cluster.
    """
    if backend.NAME != "tensorflow":
        if name in ("mirrored", "multiworker"):
            dist = keras.distribution.DataParallel(devices=backend.devices())
            dist.auto_shard_dataset = False  # multiworker: each process feeds its own rows
            keras.distribution.set_distribution(dist)
        return contextlib.nullcontext()
    import tensorflow as tf

    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        cpus = tf.config.list_logical_devices("CPU")
        devices = [d.name for d in gpus] or [d.name for d in cpus]
        return tf.distribute.MirroredStrategy(devices=devices).scope()
    if name == "multiworker":
        return multiworker.strategy(cluster or multiworker.read_cluster()).scope()
    return tf.distribute.get_strategy().scope()


# ---------------------------------------------------------------- callbacks


class PinEpoch(keras.callbacks.Callback):
    """Tells the window sequence the epoch number, so a resumed run draws the same windows."""

    def __init__(self, sequence: WindowSequence):
        super().__init__()
        self.sequence = sequence

    def on_epoch_begin(self, epoch, logs=None):
        self.sequence.set_epoch(epoch)


class ResetStates(keras.callbacks.Callback):
    """--stateful: zeroes the carried recurrent state every `every` training batches
    (new stretches of audio start) and before each validation batch."""

    def __init__(self, every: int):
        super().__init__()
        self.every = every

    def _reset(self):
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()

    def on_train_batch_begin(self, batch, logs=None):
        if batch % self.every == 0:
            self._reset()

    def on_test_batch_begin(self, batch, logs=None):
        self._reset()

    def on_test_end(self, logs=None):
        self._reset()


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

        over = time.monotonic() - self.start >= self.seconds
        if multiworker.any_worker(self.model, over):  # all stop together
            log.info("--max-minutes reached after epoch %d", epoch + 1)
            self.model.stop_training = True


class PreviewSamples(keras.callbacks.Callback):
    """Writes a short preview WAV to RUN/samples/ every N epochs (what the job's generate does)."""

    def __init__(self, run_dir: Path, every: int, seconds: float, config: RunConfig,
                 dataset: Dataset):
        super().__init__()
        self.run_dir, self.every, self.seconds, self.config = run_dir, every, seconds, config
        self.dataset = dataset

    def on_epoch_end(self, epoch, logs=None):
        if self.every <= 0 or (epoch + 1) % self.every:
            return
        from audiornn.loop import Generator

        out = self.run_dir / "samples" / f"epoch{epoch + 1:04d}.wav"
        out.parent.mkdir(exist_ok=True)
        if self.config.model.head == "regression":  # the first held-out dry stretch, applied
            from audiornn import audio
            from audiornn.effect import Effect

            ds, codec = self.dataset, self.config.codec
            s = (ds.split("val") or ds.split("train"))[0]
            n = min(s.length, int(self.seconds * codec.sample_rate))
            dry = codec.values()[ds.streams["input"][s.offset:s.offset + n]] / codec.gain("input")
            y = Effect(self.model, self.config).process(dry)
            audio.write(out, np.clip(y, -1, 1), codec.sample_rate)
        else:
            Generator(self.model, self.config).preview(out, self.seconds, epoch, self.dataset)
        log.info("preview written to %s", out)


# ---------------------------------------------------------------- training


def _check_resume(saved: RunConfig, model_cfg: ModelConfig, train_cfg: TrainConfig,
                  dataset: Dataset, run_dir: Path) -> None:
    want = {**model_cfg.to_dict(), **dataclasses.asdict(train_cfg)}
    have = {**saved.model.to_dict(), **dataclasses.asdict(saved.train)}
    for key, value in want.items():
        if key in RESUMABLE or key not in have:
            continue
        if have[key] != value:
            flag = "--" + key.replace("_", "-")
            raise AudioRNNError(f"{run_dir}: --resume with {flag} {value}, but the run was "
                                f"started with {have[key]}; use the same settings or a new --run")
    if saved.dataset.get("fingerprint") != dataset.fingerprint:
        raise AudioRNNError(f"{run_dir}: --resume with a different dataset than the run's "
                            f"({saved.dataset.get('path')})")


def train(dataset_path: str | os.PathLike, run_dir: str | os.PathLike,
          model_cfg: ModelConfig | None = None, train_cfg: TrainConfig | None = None, *,
          options: dict | None = None, resume: bool = False, tensorboard: bool = False,
          verbose: int | str = "auto") -> dict:
    """Trains a model on a dataset directory into a run directory.

    Args:
      dataset_path: a dataset built by `python -m audiornn.data`.
      run_dir: where config.json, model.keras, history.csv and the backup go.
      model_cfg: the model, streams included (default: `configs_for` the dataset).
      train_cfg: the training settings (default: likewise).
      options: settings that override the job's defaults where a config is not
        given (see `configs_for`; the CLI's options).
      resume: continue a run from its last completed epoch.
      tensorboard: also write TensorBoard logs to RUN/tensorboard.
      verbose: passed to `model.fit` (its own progress bar).

    Returns:
      The history: a dict of metric name -> list of per-epoch values.
    """
    dataset = open_dataset(dataset_path)
    job = jobs.get(dataset.job)
    default_model, default_train = configs_for(dataset.meta, options)
    model_cfg = model_cfg or default_model
    train_cfg = train_cfg or default_train
    train_cfg.validate()
    model_cfg.validate()
    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise AudioRNNError("--tensorboard needs the tensorboard package (pip install tensorboard)")
    if tensorboard and importlib.util.find_spec("tensorflow") is None:
        raise AudioRNNError("--tensorboard needs the tensorboard package and TensorFlow "
                            "(pip install tensorflow)")
    cluster = multiworker.read_cluster() if train_cfg.strategy == "multiworker" else None
    run_dir = multiworker.run_dir_for(run_dir, cluster)
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
    shard = (0, 1)  # the rows of each batch this process feeds (TensorFlow splits them itself)
    if cluster and backend.NAME == "jax":
        multiworker.join_jax(cluster)
        shard = (cluster.rank, cluster.size)
    if train_cfg.mixed_precision:
        if backend.gpus():  # bfloat16 compute; the logits (and the regression head) stay float32
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
        else:
            log.warning("--mixed-precision ignored: no GPU is visible")

    streams, start_mode = model_cfg.streams, job.start_mode
    regression = model_cfg.head == "regression"
    if regression and dataset.preemphasis:
        raise AudioRNNError(f"{dataset_path}: --head regression needs a dataset built with "
                            f"--preemphasis 0 (the effects' default), not {dataset.preemphasis:g}")
    carry = train_cfg.stateful if train_cfg.stateful > 1 and start_mode == "random" else 1
    train_seq = WindowSequence(dataset, "train", train_cfg.window, train_cfg.burn_in,
                               train_cfg.batch_size, steps=train_cfg.steps_per_epoch,
                               seed=train_cfg.seed, streams=streams, start_mode=start_mode,
                               carry=carry, regression=regression, shard=shard)
    val_seq = None
    if dataset.split("val"):
        try:
            val_seq = WindowSequence(dataset, "val", train_cfg.window, train_cfg.burn_in,
                                     train_cfg.batch_size, seed=train_cfg.seed, streams=streams,
                                     start_mode=start_mode, max_windows=train_cfg.val_windows,
                                     full_batches=True,  # no replica gets an empty batch
                                     regression=regression, shard=shard)
            if len(val_seq) == 0:
                val_seq = None
        except AudioRNNError:
            val_seq = None
    if val_seq is None:
        log.warning("no validation windows: monitoring the training loss instead")
    monitor = "val_loss" if val_seq is not None else "loss"

    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir):  # one trainer per run; what a killed one left half-written goes
        clean_partials(run_dir)
        config = RunConfig(
            codec=dataset.codec,
            job=JobConfig(name=job.name, labels=tuple(dataset.labels),
                          layout=Layout(**dataset.meta["oneshot"]) if "oneshot" in dataset.meta else None,
                          conditions=dataset.meta["conditions"],
                          hits=tuple((f"{Path(s.source).parent.name}/{Path(s.source).name}", s.label)
                                     for s in dataset.split("train"))
                          if model_cfg.stream("latent") else ()),
            model=model_cfg, train=train_cfg,
            dataset={"path": str(Path(dataset_path).resolve()), "fingerprint": dataset.fingerprint})
        if has_run:  # keep the original, with the settings that may change on resume updated
            saved = read_run_config(run_dir)
            config = dataclasses.replace(saved, train=dataclasses.replace(
                saved.train, **{k: getattr(train_cfg, k) for k in RESUMABLE}))

        keras.utils.set_random_seed(train_cfg.seed)
        with make_strategy(train_cfg.strategy, cluster):
            if cluster:  # before the workers share anything (and before the run is written)
                multiworker.agree(json.dumps([dataclasses.asdict(model_cfg), dataclasses.asdict(train_cfg),
                                              dataset.fingerprint, resume]), "settings or data")
            config.save(run_dir)
            model = build_model(model_cfg, stateful_batch=train_cfg.batch_size if carry > 1 else None)
            compile_model(model, train_cfg.learning_rate, model_cfg.head, train_cfg.burn_in)
        if multiworker.is_multiworker(model):
            multiworker.adapt(model, train_seq[0])
        latent = model_cfg.stream("latent")
        if latent:  # the map starts from the hits' sound (restored weights replace it on resume)
            from audiornn.hitmap import initial_points
            from audiornn.model import set_latent_points

            codec = dataset.codec
            hits = [codec.decode(np.asarray(dataset.streams["target"][s.offset:s.offset + s.length]))[0]
                    for s in dataset.split("train")]
            pts = initial_points(hits, codec.sample_rate, latent.size)
            set_latent_points(model, np.vstack([pts, np.zeros((1, latent.size))]))

        state = restore(model, run_dir, monitor) if resume else None
        initial_epoch = state["epoch"] if state else 0
        if cluster:
            multiworker.agree(str(initial_epoch), "the epoch their backups resume from")
        train_seq.set_epoch(initial_epoch)  # batches may be fetched before on_epoch_begin
        if initial_epoch >= train_cfg.epochs:
            log.info("%s: %d epochs already done (ask for more with --epochs)", run_dir, initial_epoch)
            return {}
        on_best = None
        if model_cfg.stream("latent"):  # the published model's map
            from audiornn.hitmap import write_map

            def on_best(m):
                write_map(run_dir, m, config)
        callbacks = [
            PinEpoch(train_seq),
            RunState(run_dir, monitor, state, on_best),
            keras.callbacks.EarlyStopping(monitor=monitor, patience=train_cfg.patience),
        ]
        if train_cfg.max_minutes:
            callbacks.append(TimeBudget(train_cfg.max_minutes))
        if carry > 1:
            callbacks.insert(0, ResetStates(carry))
        if tensorboard:
            callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
        if train_cfg.sample_every:
            callbacks.append(PreviewSamples(run_dir, train_cfg.sample_every,
                                            train_cfg.sample_seconds, config, dataset))
        try:
            history = model.fit(train_seq, validation_data=val_seq, epochs=train_cfg.epochs,
                                initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose)
        finally:
            if backend.NAME != "tensorflow":  # JAX's DataParallel is set process-wide
                keras.distribution.set_distribution(None)
        return history.history


# ---------------------------------------------------------------- CLI


def run_path(run_dir, strategy: str | None) -> Path:
    """Where this process writes the run: `run_dir`, or a multiworker worker's own copy."""
    return multiworker.run_dir_for(run_dir, multiworker.read_cluster() if strategy == "multiworker" else None)


def make_parser():
    m, t = ModelConfig(), TrainConfig()
    p = cli.parser(PROG, "Train a sample-level recurrent model on a dataset directory.")
    p.add_argument("dataset", metavar="DATASET", help="a dataset directory (python -m audiornn data)")
    p.add_argument("--run", required=True, help="run directory to create (or --resume)")
    p.add_argument("--window", type=cli.bounded(int, 1, 1048576), default=None,
                   help=f"codes per training window, T (default {t.window}; one-shots: the hit length)")
    p.add_argument("--burn-in", type=cli.nonneg_int, default=None,
                   help=f"leading positions of each window that are not scored (default {t.burn_in}; "
                        "one-shots: 0, windows start from silence)")
    p.add_argument("--core", choices=["flat", "tiered"], default=None,
                   help="tiered: a frame-level RNN conditions a sample-level MLP (default for "
                        "generate and one-shots); flat: recurrent layers at every sample (effects)")
    p.add_argument("--frame", type=cli.positive_int, default=None,
                   help=f"tiered: samples per frame (default {m.frame})")
    p.add_argument("--sample-units", type=cli.positive_int, default=None,
                   help=f"tiered: width of the sample-level MLP (default {m.sample_units})")
    p.add_argument("--sample-layers", type=cli.positive_int, default=None,
                   help=f"tiered: layers of the sample-level MLP (default {m.sample_layers})")
    p.add_argument("--cell", choices=["lstm", "gru"], default=None,
                   help=f"default {m.cell} (tiered: the frame tier's)")
    p.add_argument("--layers", type=cli.bounded(int, 1, 8), default=None,
                   help=f"recurrent layers (default {m.layers}; effects 1; tiered: the frame tier's)")
    p.add_argument("--units", type=cli.bounded(int, 1, 4096), default=None,
                   help=f"units per layer (default {m.units}; effects 32; tiered: the frame tier's)")
    p.add_argument("--embedding", type=cli.positive_int, default=None,
                   help="size of the code embeddings (default 64)")
    p.add_argument("--dropout", type=cli.fraction, default=None, help=f"default {m.dropout}")
    p.add_argument("--head", choices=["classes", "regression"], default=None,
                   help="classes: a distribution over 256 codes per step; regression: effects "
                        "only, one float sample per step, trained on ESR (default for effects; "
                        "the one that exports to plugins)")
    p.add_argument("--skip", action="store_true", default=None,
                   help="regression: add the dry input to the output (input skip)")
    p.add_argument("--latent-dim", type=cli.nonneg_int, default=None, metavar="D",
                   help="one-shots: dimensions of the learned map of hits (default 2; 0: no map)")
    p.add_argument("--no-position", dest="position", action="store_false", default=None,
                   help="one-shots: do not tell the model each step's position within the hit")
    p.add_argument("--no-feedback", dest="feedback", action="store_false", default=None,
                   help="effects: an input-only model (one parallel pass when applied)")
    p.add_argument("--batch-size", type=cli.bounded(int, 1, 4096), default=None,
                   help=f"default {t.batch_size}")
    p.add_argument("--epochs", type=cli.bounded(int, 1, 100000), default=None, help=f"default {t.epochs}")
    p.add_argument("--steps-per-epoch", type=cli.bounded(int, 1, 1000000), default=None,
                   help="batches per epoch (default: one pass over the training codes)")
    p.add_argument("--learning-rate", type=cli.bounded(float, 0, 10, lo_open=True), default=None,
                   help=f"Adam's step size (default {t.learning_rate}; effects 0.005)")
    p.add_argument("--patience", type=cli.positive_int, default=None,
                   help=f"epochs without validation improvement before stopping (default {t.patience})")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stateful", type=cli.nonneg_int, default=None, metavar="N",
                   help="carry the recurrent state across N consecutive windows of the same "
                        "audio (truncated backpropagation through time); 0: independent windows")
    p.add_argument("--max-minutes", type=cli.bounded(float, 0, 1e6, lo_open=True), default=None,
                   help="stop after the epoch in which this much training time has passed")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs")
    p.add_argument("--sample-every", type=cli.nonneg_int, default=None, metavar="N",
                   help="write a short preview WAV to RUN/samples every N epochs")
    p.add_argument("--strategy", choices=["auto", "mirrored", "multiworker"], default=None)
    p.add_argument("--mixed-precision", action="store_true", default=None,
                   help="bfloat16 compute on a GPU (logits stay float32)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def summary(history: dict, run: str) -> str:
    esr = "val_esr" if history.get("val_esr") else "esr"
    if history.get(esr):
        return (f"run written to {run}: best {esr.replace('_', ' ')} "
                f"{float(np.min(history[esr])):.3%} (model.keras, history.csv, config.json)")
    key = "val_bits" if history.get("val_bits") else "bits"
    if not history.get(key):
        return f"run {run} was already complete"
    return (f"run written to {run}: best {key.replace('_', ' ')} {float(np.min(history[key])):.3f} "
            "bits/sample (model.keras, history.csv, config.json)")


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging()
    options = {k: v for k, v in vars(args).items()
               if k not in ("dataset", "run", "resume", "tensorboard", "quiet")}
    return cli.run(PROG, lambda: print(summary(train(
        args.dataset, args.run, options=options, resume=args.resume, tensorboard=args.tensorboard,
        verbose=0 if args.quiet else "auto"), str(run_path(args.run, args.strategy)))))


if __name__ == "__main__":
    sys.exit(main())
