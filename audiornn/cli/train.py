"""`python -m audiornn train DATASET --run DIR`: the arguments, checked before Keras is imported.

A typo, a missing dataset or a run that already exists answers at once; only
then is the library (train.py, which imports Keras) loaded.
"""

from __future__ import annotations

import argparse
import sys

from audiornn import cli, cores, heads
from audiornn.config import ModelConfig, TrainConfig

PROG = "python -m audiornn train"


def make_parser():
    m, t = ModelConfig(), TrainConfig()
    p = cli.parser(PROG, "Train a sample-level recurrent model on a dataset directory.")
    p.add_argument("dataset", metavar="DATASET", help="a dataset directory (python -m audiornn data)")
    p.add_argument("--run", required=True, help="run directory to create (or --resume)")
    p.add_argument("--window", type=cli.bounded(int, 1, 1048576), default=None,
                   help=f"codes per training window, T (default {t.window}; one-shots: the hit "
                        "length, at most 8192 for the tiered core, whose shorter windows take "
                        "a hit's start or a later stretch of it)")
    p.add_argument("--burn-in", type=cli.nonneg_int, default=None,
                   help=f"leading positions of each window that are not scored (default {t.burn_in}; "
                        "one-shots: 0 for a hit's start, which comes from silence; 512 for a "
                        "later stretch)")
    p.add_argument("--core", choices=cores.NAMES, default=None,
                   help="tiered: a frame-level RNN conditions a sample-level MLP (default for "
                        "generate and one-shots); flat: recurrent layers at every sample (effects); "
                        "wavenet: causal dilated convolutions, NAM's WaveNet (effects)")
    p.add_argument("--shape", choices=("nano", "feather", "lite", "standard"), default=None,
                   help="wavenet: NAM's size presets (default feather)")
    p.add_argument("--knob-gain", action=argparse.BooleanOptionalAction, default=None,
                   help="wavenet with knobs: the knobs also scale each layer's input to its "
                        "tanh, as a drive knob does (FiLM; default on)")
    p.add_argument("--frame", type=cli.positive_int, default=None,
                   help="tiered: samples per frame (default 16)")
    p.add_argument("--sample-units", type=cli.positive_int, default=None,
                   help="tiered: width of the sample-level MLP (default 256)")
    p.add_argument("--sample-layers", type=cli.positive_int, default=None,
                   help="tiered: layers of the sample-level MLP (default 2)")
    p.add_argument("--lpc", type=cli.nonneg_int, default=None, metavar="ORDER",
                   help="tiered: the order of the linear prediction the sample tier sees, "
                        "recomputed every frame from the past samples (0: none)")
    p.add_argument("--lpc-history", type=cli.positive_int, default=None, metavar="N",
                   help="tiered: samples the linear prediction is computed from (default 384)")
    p.add_argument("--pitch", type=cli.nonneg_int, default=None, metavar="LAG",
                   help="tiered: the sample tier also sees the sample one pitch period back, the "
                        "period searched every frame up to LAG samples (0: none; 320 is 50 Hz at 16 kHz)")
    p.add_argument("--pitch-window", type=cli.positive_int, default=None, metavar="N",
                   help="tiered: samples the pitch period is matched on (default 128)")
    p.add_argument("--input-noise", type=cli.bounded(float, 0, 64), default=None, metavar="CODES",
                   help="tiered: in training, move each previous code by a normal draw of this "
                        "many codes, so the model learns from inputs as imperfect as its own (0: none)")
    p.add_argument("--cell", choices=["lstm", "gru"], default=None,
                   help=f"default {m.cell} (tiered: the frame tier's)")
    p.add_argument("--layers", type=cli.bounded(int, 1, 8), default=None,
                   help=f"recurrent layers (default {m.layers}; effects 1; tiered: the frame tier's)")
    p.add_argument("--units", type=cli.bounded(int, 1, 4096), default=None,
                   help=f"units per layer (default {m.units}; effects 32; tiered: the frame tier's)")
    p.add_argument("--embedding", type=cli.positive_int, default=None,
                   help="size of the code embeddings (default 64)")
    p.add_argument("--dropout", type=cli.fraction, default=None, help=f"default {m.dropout}")
    p.add_argument("--head", choices=heads.NAMES, default=None,
                   help="classes: a distribution over 256 codes per step; regression: effects "
                        "only, one float sample per step, trained on ESR (default for effects; "
                        "the one that exports to plugins)")
    p.add_argument("--loss-preemphasis", type=cli.bounded(float, 0, 0.999), default=None,
                   metavar="A", help=f"regression: the loss's pre-emphasis filter 1 - A z^-1 "
                                     f"(default {t.loss_preemphasis}; 0: the plain ESR)")
    p.add_argument("--loss-spectral", type=cli.bounded(float, 0, 10), default=None,
                   metavar="W", help="regression: add W x the multi-resolution STFT distance "
                   f"(spectral convergence and log magnitudes) to the ESR (default {t.loss_spectral:g})")
    p.add_argument("--ir", dest="ir_seconds", type=cli.bounded(float, 0, 10), default=None,
                   metavar="SECONDS", help="effects: after the network, an impulse response of "
                   "this length (the cab and the room: up to 1-2 s of reverb), fitted to the "
                   "recording, saved as RUN/ir.wav and exported beside the model (default 0: none)")
    p.add_argument("--skip", action="store_true", default=None,
                   help="regression: add the dry input to the output (input skip)")
    p.add_argument("--latent-dim", type=cli.nonneg_int, default=None, metavar="D",
                   help="one-shots: dimensions of the learned map of hits (default 2; 0: no map)")
    p.add_argument("--no-position", dest="position", action="store_false", default=None,
                   help="one-shots: do not tell the model each step's position within the hit")
    p.add_argument("--no-feedback", dest="feedback", action="store_false", default=None,
                   help="effects: an input-only model (one parallel pass when applied)")
    p.add_argument("--batch-size", type=cli.bounded(int, 1, 4096), default=None,
                   help=f"default {t.batch_size} (one-shots 16; 8 for the tiered core's windows on hits)")
    p.add_argument("--epochs", type=cli.bounded(int, 1, 100000), default=None, help=f"default {t.epochs}")
    p.add_argument("--steps-per-epoch", type=cli.bounded(int, 1, 1000000), default=None,
                   help="batches per epoch (default: the job's, about a minute's work on a "
                        "2-core CPU; see the README)")
    p.add_argument("--learning-rate", type=cli.bounded(float, 0, 10, lo_open=True), default=None,
                   help="Adam's step size (default: speech and music 0.003; effects 0.005; "
                        "one-shots 0.003)")
    p.add_argument("--lr-decay", type=cli.bounded(float, 0, 1, lo_open=True), default=None,
                   metavar="F", help="the step size falls geometrically to F times its start "
                   "over the run (--max-minutes' budget, else --epochs), set at each epoch's "
                   f"start (default {t.lr_decay:g}: constant)")
    p.add_argument("--ema", type=cli.bounded(float, 0, 0.9999), default=None, metavar="M",
                   help="validate and keep an exponential moving average of the weights "
                   "(momentum M per step, warmed up over the first steps; default: effects' "
                   f"regression head 0.99, else {t.ema:g}: none)")
    p.add_argument("--patience", type=cli.positive_int, default=None,
                   help=f"epochs without validation improvement before stopping (default {t.patience})")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stateful", type=cli.nonneg_int, default=None, metavar="N",
                   help="carry the recurrent state across N consecutive windows of the same "
                        "audio (truncated backpropagation through time); 0: independent windows")
    p.add_argument("--max-minutes", type=cli.bounded(float, 0, 1e6, lo_open=True), default=None,
                   help="a budget: stop when this much training time has passed (mid-epoch if "
                        "need be), after a last validation that keeps the best weights")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted or finished run where it stopped")
    p.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs")
    p.add_argument("--sample-every", type=cli.nonneg_int, default=None, metavar="N",
                   help="write a short preview WAV to RUN/samples every N epochs")
    p.add_argument("--strategy", choices=["auto", "mirrored", "multiworker"], default=None)
    p.add_argument("--mixed-precision", action="store_true", default=None,
                   help="bfloat16 compute on a GPU (logits stay float32)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def check(args) -> None:
    """What can be checked without Keras: the dataset opens, the run is new (or resumable)."""
    from audiornn.config import check_run_dir
    from audiornn.data import open_dataset

    open_dataset(args.dataset)
    if args.strategy != "multiworker":  # there the run directory depends on TF_CONFIG's task
        check_run_dir(args.run, args.resume)


def summary(history: dict, run: str) -> str:
    import json
    from pathlib import Path

    import numpy as np

    esr = "val_esr" if history.get("val_esr") else "esr"
    if history.get(esr):
        from audiornn.evaluation.report import esr_verdict, next_step

        best = float(np.min(history[esr]))
        which = "validation" if esr == "val_esr" else "training"
        line = f"run written to {run}: best {which} ESR {best:.3%} over training's windows"
        whole = Path(run) / "validation.json"
        if whole.exists():  # the figure a plugin user hears: whole segments, state carried
            v = json.loads(whole.read_text())
            best = v["esr"]
            line += f"; over the whole {v['split']} segments {best:.3%}"
            if (Path(run) / "ir.wav").exists():
                line += " with the impulse response (ir.wav)"
        from audiornn.training.runstate import read_history

        rows = [r for r in read_history(Path(run)) if esr in r] or [{esr: v} for v in history[esr]]
        minutes = [r["minutes"] for r in rows] if all("minutes" in r for r in rows) else None
        from audiornn.config import read_run_config

        cfg = read_run_config(run)
        step = next_step([r[esr] for r in rows], minutes, cfg.model,
                         best if whole.exists() else None,
                         None if cfg.train.ir_seconds or (Path(run) / "ir.wav").exists()
                         else _rings(cfg))
        return (f"{line}: {esr_verdict(best)} (model.keras, history.csv, config.json)\n"
                f"next step: {step}")
    key = "val_bits" if history.get("val_bits") else "bits"
    if not history.get(key):
        return f"run {run} was already complete"
    return (f"run written to {run}: best {key.replace('_', ' ')} {float(np.min(history[key])):.3f} "
            "bits/sample (model.keras, history.csv, config.json)")


def _rings(config) -> float | None:
    """The largest share of late response `data --pair` measured on the run's dataset."""
    from audiornn.data import open_dataset
    from audiornn.errors import AudioRNNError

    try:
        sources = open_dataset(config.dataset["path"]).meta.get("sources", [])
    except (AudioRNNError, KeyError, TypeError):
        return None
    late = [s["late_energy"] for s in sources if "late_energy" in s]
    return max(late) if late else None


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging()
    options = {k: v for k, v in vars(args).items()
               if k not in ("dataset", "run", "resume", "tensorboard", "quiet")}

    def body():
        check(args)
        from audiornn.distribute import multiworker
        from audiornn.training.train import train

        history = train(args.dataset, args.run, options=options, resume=args.resume,
                        tensorboard=args.tensorboard, verbose=0 if args.quiet else "auto")
        cluster = multiworker.read_cluster() if args.strategy == "multiworker" else None
        print(summary(history, str(multiworker.run_dir_for(args.run, cluster))))

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())

