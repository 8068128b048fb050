"""`train()`: teacher-forced many-to-many training (the command line: cli/train.py).

Every window of T codes scores T - burn_in next-code predictions in one pass
(the original AudioRNN scored one per 1000-sample window). Training is made of
Keras callbacks: RunState (runstate.py: the kill-safe backup, model.keras for
the best validation loss, history.csv), EarlyStopping, TensorBoard, and a
preview-sample writer. `--strategy multiworker` is in multiworker.py.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

import keras
import numpy as np

from audiornn import cores, dsp, heads, jobs
from audiornn.config import (
    RESUMABLE,
    JobConfig,
    Layout,
    ModelConfig,
    RunConfig,
    TrainConfig,
    check_run_dir,
    read_run_config,
)
from audiornn.data import Dataset, open_dataset
from audiornn.data.windows import WindowSequence
from audiornn.distribute import multiworker, strategy
from audiornn.errors import AudioRNNError
from audiornn.files import write_json_atomic
from audiornn.runtime.model import build_model
from audiornn.streams import find as find_stream
from audiornn.training import callbacks as cb
from audiornn.training.runstate import RunLock, RunState, clean_partials, restore

log = logging.getLogger("audiornn.train")


def compile_model(model: keras.Model, learning_rate: float, head: str = "classes",
                  burn_in: int = 0, loss_preemphasis: float = 0.95,
                  loss_spectral: float = 0.0, ema: float = 0.0) -> None:
    """Compiles with the head's loss and metrics (heads/): Adam with gradient clipping.
    loss_preemphasis: the regression head's loss filter (heads/regression.py); ema: the
    weights' moving average's momentum (0: none)."""
    heads.get(head).compile(model, learning_rate, burn_in, ema=ema,
                            loss_preemphasis=loss_preemphasis, loss_spectral=loss_spectral)


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
    merged = {**job.train_defaults(meta, given), **given}
    streams = job.streams(meta, int(merged.get("embedding", 64)), bool(merged.get("feedback", True)),
                          head=merged.get("head", "classes"), latent_dim=merged.get("latent_dim"),
                          position=merged.get("position"))
    arch = {f.name for f in dataclasses.fields(ModelConfig)} - {"streams", "options"}
    core = cores.get(merged.get("core", ModelConfig.core))
    own = {f.name for f in dataclasses.fields(core.Options)}  # the core's own settings
    model = ModelConfig(streams=streams, **{k: merged[k] for k in arch if k in merged},
                        options=dataclasses.asdict(core.Options(
                            **{k: merged[k] for k in own if k in merged})))
    for key, value in core.train_defaults(model).items():  # e.g. wavenet: its receptive field
        if key not in given:
            merged[key] = value
    step = core.granularity(model)  # windows and burn-in in whole frames of the core
    for key in ("window", "burn_in"):
        n = merged.get(key, getattr(TrainConfig, key))
        merged[key] = -(-n // step) * step
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return model, TrainConfig(**{k: v for k, v in merged.items() if k in names})


# ---------------------------------------------------------------- training


def _setting(value) -> str:
    """A setting in the user's words: numbers as typed, on/off, "the default" for None."""
    if value is None:
        return "the default"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple, dict)):
        return "its own streams" if value and isinstance(value, (list, tuple)) else str(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _check_resume(saved: RunConfig, model_cfg: ModelConfig, train_cfg: TrainConfig,
                  dataset: Dataset, run_dir: Path) -> None:
    def settings(m: ModelConfig, t: TrainConfig) -> dict:  # the core's own ones by their names
        return {**{k: v for k, v in m.to_dict().items() if k != "options"}, **m.options,
                **dataclasses.asdict(t)}

    want, have = settings(model_cfg, train_cfg), settings(saved.model, saved.train)
    for key, value in want.items():
        if key in RESUMABLE or key not in have:
            continue
        if have[key] != value:
            flag = "--" + key.replace("_", "-")
            raise AudioRNNError(f"{run_dir}: --resume with {flag} {_setting(value)}, but the run "
                                f"was started with {_setting(have[key])}; use the same settings "
                                "or a new --run")
    if saved.dataset.get("fingerprint") != dataset.fingerprint:
        raise AudioRNNError(f"{run_dir}: --resume with a different dataset than the run's "
                            f"({saved.dataset.get('path')})")


def train(dataset_path: str | os.PathLike, run_dir: str | os.PathLike,
          model_cfg: ModelConfig | None = None, train_cfg: TrainConfig | None = None, *,
          options: dict | None = None, resume: bool = False, tensorboard: bool = False,
          verbose: int | str = "auto") -> dict:
    """Trains a model on a dataset directory into a run directory.

    Args:
      dataset_path: a dataset built by `python -m audiornn data`.
      run_dir: where config.json, model.keras, history.csv and the backup go.
      model_cfg: the model, streams included (default: `configs_for` the dataset).
      train_cfg: the training settings (default: likewise).
      options: settings that override the job's defaults where a config is not
        given (see `configs_for`; the CLI's options).
      resume: continue a run where it stopped (an epoch's end, or Ctrl-C's step).
      tensorboard: also write TensorBoard logs to RUN/tensorboard.
      verbose: 0 (quiet), or "auto"/1: Keras' bar on a terminal, else plain log lines.

    Returns:
      The history: a dict of metric name -> list of per-epoch values.

    Raises:
      callbacks.Interrupted: on Ctrl-C or SIGTERM, after a resumable state was saved.
    """
    dataset = open_dataset(dataset_path)
    job = jobs.get(dataset.job)
    default_model, default_train = configs_for(dataset.meta, options)
    model_cfg = model_cfg or default_model
    train_cfg = train_cfg or default_train
    train_cfg.validate()
    model_cfg.validate()
    if train_cfg.ir_seconds and not heads.get(model_cfg.head).float_output:
        raise AudioRNNError("--ir: the impulse response follows an effect's float output; "
                            "train it on an effect dataset with --head regression")
    if train_cfg.loss_spectral and not heads.get(model_cfg.head).float_output:
        raise AudioRNNError("--loss-spectral: the spectral term compares float outputs; "
                            "it is for effect datasets with --head regression")
    _check_tensorboard(tensorboard)
    cluster = multiworker.read_cluster() if train_cfg.strategy == "multiworker" else None
    run_dir = multiworker.run_dir_for(run_dir, cluster)
    has_run = check_run_dir(run_dir, resume)
    if resume:
        _check_resume(read_run_config(run_dir), model_cfg, train_cfg, dataset, run_dir)
    heads.get(model_cfg.head).check_dataset(dataset, dataset_path)
    shard = strategy.join(cluster, train_cfg.mixed_precision)
    train_seq, val_seq, carry = _sequences(dataset, job, model_cfg, train_cfg, shard)
    monitor = "val_loss" if val_seq is not None else "loss"

    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir):  # one trainer per run; what a killed one left half-written goes
        clean_partials(run_dir)
        config = _run_config(dataset, dataset_path, job, model_cfg, train_cfg, run_dir, has_run)
        keras.utils.set_random_seed(train_cfg.seed)
        with strategy.scope(train_cfg.strategy, cluster):
            if cluster:  # before the workers share anything (and before the run is written)
                multiworker.agree(json.dumps([dataclasses.asdict(model_cfg), dataclasses.asdict(train_cfg),
                                              dataset.fingerprint, resume]), "settings or data")
            config.save(run_dir)
            model = build_model(model_cfg, stateful_batch=train_cfg.batch_size if carry > 1 else None)
            compile_model(model, train_cfg.learning_rate, model_cfg.head, train_cfg.burn_in,
                          train_cfg.loss_preemphasis, train_cfg.loss_spectral, train_cfg.ema)
        if multiworker.is_multiworker(model):
            multiworker.adapt(model, train_seq[0])
        latent = find_stream(model_cfg.streams, "map")
        if latent:  # the map starts from the hits' sound (a resume replaces it)
            _init_map(model, dataset, latent.size)

        state = restore(model, run_dir, monitor) if resume else None
        initial_epoch, step = (state["epoch"], state.get("step", 0)) if state else (0, 0)
        if cluster:
            multiworker.agree(f"{initial_epoch}:{step}", "the epoch their backups resume from")
        if initial_epoch >= train_cfg.epochs:
            log.info("%s: %d epochs already done (ask for more with --epochs)", run_dir, initial_epoch)
            return {}
        if resume:
            log.info("resuming %s at epoch %d%s", run_dir, initial_epoch + 1,
                     f", step {step + 1}" if step else "")
        log_lines = verbose != 0 and not sys.stdout.isatty()  # a log file: plain lines, no bar
        callbacks = _callbacks(run_dir, monitor, state, config, dataset, train_seq, val_seq,
                               carry, tensorboard, log_lines, cluster is None)
        try:
            history = _fit(model, train_seq, val_seq, callbacks, train_cfg.epochs, initial_epoch,
                           step, 0 if log_lines else verbose)
        finally:
            strategy.release()
        _whole_segments(run_dir, model_cfg, train_cfg, dataset, cluster)
        return history


def _whole_segments(run_dir: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, dataset: Dataset,
                    cluster) -> None:
    """A float head's validation ESR over whole segments with the state carried (the figure a
    plugin user hears, and the one `export` writes), into RUN/validation.json; with --ir,
    the impulse response fitted first (runtime/ir.py)."""
    if not heads.get(model_cfg.head).float_output or (cluster and cluster.rank):
        return
    from audiornn.runtime.effect import Effect

    split = "val" if dataset.split("val") else "train"
    if train_cfg.ir_seconds:
        fit_ir(run_dir, dataset, train_cfg.ir_seconds, split)
    report = Effect.from_run(run_dir).segment_report(dataset, split)
    lags = [s["latency"] for s in dataset.meta.get("sources", []) if "latency" in s]
    if report is not None:
        write_json_atomic(run_dir / "validation.json",
                          {**report, "split": split, "how": "whole segments from silence, "
                           "the state carried (as a plugin plays the model)",
                           "latency_samples": int(np.median(lags)) if lags else None})


def fit_ir(run_dir: Path, dataset: Dataset, seconds: float, split: str = "val") -> None:
    """--ir: the impulse response after the trained network, fitted on the training pairs by
    least squares (runtime/ir.py) and kept as RUN/ir.wav when it lowers the validation ESR."""
    from audiornn.runtime import ir
    from audiornn.runtime.effect import Effect, segment_pairs
    from audiornn.runtime.model import load_run

    model, config = load_run(run_dir)
    net = Effect(model, config)
    pairs = [(net.stream(dry), wet) for dry, wet in segment_pairs(dataset, "train")]
    h = ir.fit(pairs, max(1, int(round(seconds * config.codec.sample_rate))))
    without = net.segment_esr(dataset, split)
    with_ir = Effect(model, config, h).segment_esr(dataset, split)
    (Path(run_dir) / ir.FILE).unlink(missing_ok=True)
    if with_ir is not None and without is not None and with_ir < without:
        ir.save(run_dir, h, config.codec.sample_rate)
        log.info("impulse response (--ir %gs): validation ESR %.2f%% with it, %.2f%% without; "
                 "kept as %s", seconds, 100 * with_ir, 100 * without, Path(run_dir) / ir.FILE)
    else:
        log.warning("impulse response (--ir %gs): validation ESR %.2f%% with it, %.2f%% without; "
                    "not kept", seconds, 100 * (with_ir or 0), 100 * (without or 0))


def _check_tensorboard(tensorboard: bool) -> None:
    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise AudioRNNError("--tensorboard needs the tensorboard package (pip install tensorboard)")
    if tensorboard and importlib.util.find_spec("tensorflow") is None:
        raise AudioRNNError("--tensorboard needs the tensorboard package and TensorFlow "
                            "(pip install tensorflow)")


def _sequences(dataset: Dataset, job, model_cfg: ModelConfig, train_cfg: TrainConfig, shard):
    """(training windows, validation windows or None, carry) for a run."""
    streams, start_mode = model_cfg.streams, job.start_mode
    regression = heads.get(model_cfg.head).float_output  # targets are samples, not codes
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
    return train_seq, val_seq, carry


def _run_config(dataset: Dataset, dataset_path, job, model_cfg: ModelConfig,
                train_cfg: TrainConfig, run_dir: Path, has_run: bool) -> RunConfig:
    """The run's config.json: new, or the saved one with its resumable settings updated."""
    if has_run:  # keep the original, with the settings that may change on resume updated
        saved = read_run_config(run_dir)
        return dataclasses.replace(saved, train=dataclasses.replace(
            saved.train, **{k: getattr(train_cfg, k) for k in RESUMABLE}))
    train = dataset.split("train")
    shaped = find_stream(model_cfg.streams, "envelope")
    hits = tuple((f"{Path(s.source).parent.name}/{Path(s.source).name}", s.label) for s in train) \
        if find_stream(model_cfg.streams, "map") or shaped else ()
    hop = dsp.envelope_hop(dataset.sample_rate)
    envelopes = tuple(tuple(np.round(dataset.step_values["envelope"][s.offset:s.offset + s.length:hop, 0]
                                     .astype(float), 4).tolist()) for s in train) if shaped else ()
    return RunConfig(
        codec=dataset.codec,
        job=JobConfig(name=job.name, labels=tuple(dataset.labels),
                      layout=Layout(**dataset.meta["oneshot"]) if "oneshot" in dataset.meta else None,
                      conditions=dataset.meta["conditions"], hits=hits, envelopes=envelopes),
        model=model_cfg, train=train_cfg,
        dataset={"path": str(Path(dataset_path).resolve()), "fingerprint": dataset.fingerprint})


def _init_map(model: keras.Model, dataset: Dataset, size: int) -> None:
    """The one-shots' map starts from the hits' sound."""
    from audiornn.cores.base import set_latent_points
    from audiornn.jobs.oneshot_data import read_hit
    from audiornn.runtime.hitmap import initial_points

    hits = [read_hit(dataset, s) for s in dataset.split("train")]
    pts = initial_points(hits, dataset.sample_rate, size)
    set_latent_points(model, np.vstack([pts, np.zeros((1, size))]))


def _callbacks(run_dir: Path, monitor: str, state, config: RunConfig, dataset: Dataset,
               train_seq: WindowSequence, val_seq, carry: int, tensorboard: bool, log_lines: bool,
               single: bool) -> list:
    """The training callbacks, in the order they must run at an epoch's end."""
    train_cfg = config.train
    on_best = None
    if config.model.stream("latent"):  # the published model's map
        from audiornn.runtime.hitmap import write_map

        def on_best(m):
            write_map(run_dir, m, config)
    run_state = RunState(run_dir, monitor, state, on_best)
    out = [cb.PinEpoch(train_seq), run_state,
           keras.callbacks.EarlyStopping(monitor=monitor, patience=train_cfg.patience)]
    if carry > 1:
        out.insert(0, cb.ResetStates(carry))
    if train_cfg.ema:  # first: the averaged weights are in place for validation and saving
        out.insert(0, keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if train_cfg.max_minutes:
        out.append(cb.TimeBudget(train_cfg.max_minutes, len(val_seq) if val_seq else 0, single))
    if train_cfg.lr_decay < 1.0:
        out.append(cb.LearningRateDecay(train_cfg.learning_rate, train_cfg.lr_decay,
                                        train_cfg.epochs, 60.0 * train_cfg.max_minutes))
    if tensorboard:
        out.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    if train_cfg.sample_every:
        out.append(cb.PreviewSamples(run_dir, train_cfg.sample_every, train_cfg.sample_seconds,
                                     config, dataset))
    if log_lines:
        out.append(cb.LogLines(train_cfg.epochs, len(train_seq)))
    if single:  # across workers a signal would stop one of them: they stop as before
        out.append(cb.StopOnSignal(run_state.save_step, run_dir))
    return out


def _fit(model: keras.Model, train_seq: WindowSequence, val_seq, callbacks: list, epochs: int,
         initial_epoch: int, step: int, verbose) -> dict:
    """model.fit from (initial_epoch, step): a resumed partial epoch is fitted on its own
    first (its remaining steps), then the epochs after it."""
    train_seq.set_epoch(initial_epoch)  # batches may be fetched before on_epoch_begin
    history: dict = {}
    if step:
        train_seq.start_step = step
        try:
            h = model.fit(train_seq, validation_data=val_seq, epochs=initial_epoch + 1,
                          initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose)
        finally:
            train_seq.start_step = 0
        history = h.history
        initial_epoch += 1
        budget = next((c for c in callbacks if isinstance(c, cb.TimeBudget)), None)
        if initial_epoch >= epochs or model.stop_training or (budget and budget.stopped_at):
            return history
        train_seq.set_epoch(initial_epoch)
    h = model.fit(train_seq, validation_data=val_seq, epochs=epochs, initial_epoch=initial_epoch,
                  callbacks=callbacks, verbose=verbose)
    return {k: history.get(k, []) + list(v) for k, v in h.history.items()}
