"""The typed run configuration: frozen dataclasses written and read as versioned JSON.

A run's `config.json` is a `RunConfig`: the codec (how audio became codes), the
job and its labels, the model (its declared input streams and its core), the
training settings, and the dataset it was trained on. Loading rebuilds
everything from it; nothing is re-derived from weight shapes. Version-1 files
(written before streams were declared) load through `migrate_run`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from audiornn import __version__, cores, heads
from audiornn.data.codec import Codec
from audiornn.errors import AudioRNNError
from audiornn.files import read_versioned, write_json_atomic
from audiornn.streams import Stream, applies, code_stream, label_stream

RUN_FORMAT = "audiornn-run"
RUN_VERSION = 2



@dataclass(frozen=True)
class ModelConfig:
    """The architecture: the declared input streams, the core between them and the head.

    Attributes:
      streams: the inputs, in the order their features are concatenated (streams.py).
      cell: "lstm" or "gru" (tiered: the frame tier's).
      layers: number of stacked recurrent layers (tiered: the frame tier's).
      units: units per recurrent layer (tiered: the frame tier's).
      dropout: dropout between recurrent layers during training (flat).
      core: a registered core (cores/): "flat" (recurrent layers stepping once
        per sample) or "tiered" (a frame-level RNN conditions a sample-level MLP).
      head: a registered head (heads/): "classes" (256 logits per step: a
        distribution over the next code) or "regression" (one float per step:
        the wet sample; effects).
      skip: regression: add the dry input to the output (the model learns the
        difference; Wright et al.'s input skip).
      options: the core's own settings by name (its `Options` dataclass types
        and checks them; tiered: frame, sample_units, sample_layers).
    """

    streams: tuple[Stream, ...] = (code_stream("prev", "target", 64),)
    cell: str = "lstm"
    layers: int = 2
    units: int = 256
    dropout: float = 0.0
    core: str = "flat"
    head: str = "classes"
    skip: bool = False
    options: dict = field(default_factory=dict)

    @classmethod
    def make(cls, **settings) -> ModelConfig:
        """A config from shared fields and the core's own settings together (frame=8, ...)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in settings.items() if k in names},
                   options={k: v for k, v in settings.items() if k not in names})

    def validate(self) -> None:
        """Checks the shared fields and the streams here, then asks the core and the head
        (which loads them, and Keras)."""
        if self.cell not in ("lstm", "gru"):
            raise AudioRNNError(f"--cell must be lstm or gru, got {self.cell!r}")
        if not 1 <= self.layers <= 8:
            raise AudioRNNError(f"--layers must be in [1, 8], got {self.layers}")
        if not 1 <= self.units <= 4096:
            raise AudioRNNError(f"--units must be in [1, 4096], got {self.units}")
        if not 0.0 <= self.dropout < 1.0:
            raise AudioRNNError(f"--dropout must be in [0, 1), got {self.dropout}")
        for s in self.streams:
            s.validate()
        names = [s.name for s in self.streams]
        if len(set(names)) != len(names):
            raise AudioRNNError(f"stream names must be unique, got {names}")
        if not any(s.per == "step" for s in self.streams):
            raise AudioRNNError("a model needs a per-step input (the previous code or a dry input)")
        cores.get(self.core).validate(self)
        heads.get(self.head).validate(self)

    def stream(self, name: str) -> Stream | None:
        return next((s for s in self.streams if s.name == name), None)

    @property
    def feedback(self) -> bool:
        """Whether the model sees its own previous output (autoregressive)."""
        return any(s.feedback for s in self.streams)

    @property
    def applies(self) -> bool:
        """Whether the model applies to an input (an effect) rather than sampling on its own."""
        return applies(self.streams)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        d = dict(d)
        d["streams"] = tuple(Stream(**s) for s in d.get("streams", ()))
        if "options" not in d:  # version 2 before cores kept their own settings
            legacy = cores.LEGACY_OPTIONS.get(d.get("core", "flat"), ())
            d["options"] = {k: d[k] for k in legacy if k in d}
        return cls(**_known(cls, d))


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; the fields are the CLI's defaults (jobs override some)."""

    window: int = 1024
    burn_in: int = 64
    batch_size: int = 32
    epochs: int = 20
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    lr_decay: float = 1.0
    ema: float = 0.0
    patience: int = 5
    seed: int = 0
    val_windows: int = 256
    sample_every: int = 0
    sample_seconds: float = 2.0
    strategy: str = "auto"
    mixed_precision: bool = False
    max_minutes: float = 0.0
    stateful: int = 0
    loss_preemphasis: float = 0.95
    loss_spectral: float = 0.0
    ir_seconds: float = 0.0

    def validate(self) -> None:
        if self.window < 2:
            raise AudioRNNError(f"--window must be >= 2, got {self.window}")
        if not 0 <= self.burn_in < self.window:
            raise AudioRNNError(f"--burn-in must be in [0, window), got {self.burn_in}")
        if self.batch_size < 1 or self.epochs < 1:
            raise AudioRNNError("--batch-size and --epochs must be positive")
        if not self.learning_rate > 0:
            raise AudioRNNError(f"--learning-rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.ema < 1.0:
            raise AudioRNNError(f"--ema must be in [0, 1), got {self.ema:g}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise AudioRNNError(f"--lr-decay must be in (0, 1], got {self.lr_decay:g}")
        if self.strategy not in ("auto", "mirrored", "multiworker"):
            raise AudioRNNError("--strategy must be auto, mirrored or multiworker")
        if not 0.0 <= self.loss_preemphasis < 1.0:
            raise AudioRNNError(f"--loss-preemphasis must be in [0, 1), got {self.loss_preemphasis}")
        if not 0.0 <= self.loss_spectral <= 10.0:
            raise AudioRNNError(f"--loss-spectral must be in [0, 10], got {self.loss_spectral:g}")
        if not 0.0 <= self.ir_seconds <= 10.0:
            raise AudioRNNError(f"--ir takes 0 to 10 seconds, got {self.ir_seconds:g}")
        if self.stateful < 0 or (self.stateful > 1 and self.strategy != "auto"):
            raise AudioRNNError("--stateful N takes N >= 0 windows, with --strategy auto")


#: Settings that may differ when a run is resumed (everything else must match).
RESUMABLE = frozenset({"epochs", "patience", "sample_every", "sample_seconds", "strategy",
                       "max_minutes", "ir_seconds", "lr_decay"})


@dataclass(frozen=True)
class Layout:
    """Where a one-shot sits in its fixed-length window (seconds and samples)."""

    attack: float
    length: float
    attack_samples: int
    length_samples: int
    fade: float = 0.01
    #: what lands at `attack`: the hit's "peak" or its "onset" (dsp.hit_mark)
    align: str = "peak"
    #: "peak": every hit was brought to -1 dBFS (dsp.output_gain); "off": its own level
    hit_level: str = "off"
    #: the dataset holds each hit's level per step (the envelope stream)
    envelope: bool = False


@dataclass(frozen=True)
class JobConfig:
    """The job a run was trained for, with what it needs besides the model.

    Attributes:
      name: a registered job ("generate", "effect", "oneshot").
      labels: class names of a labelled dataset, in label-index order.
      layout: the one-shot layout of a hit dataset, else None.
      conditions: each dataset condition's (continuous stream's) name -> the
        values seen in training, for defaults and range checks.
      hits: one-shot runs with a map or an envelope: each training hit's (file
        name, label index or None), in the order of the latent table's rows.
      envelopes: one-shot runs with an envelope stream: each training hit's level
        (the stream's values, 0..1) every dsp.envelope_hop samples.
    """

    name: str = "generate"
    labels: tuple[str, ...] = ()
    layout: Layout | None = None
    conditions: dict = field(default_factory=dict)
    hits: tuple = ()
    envelopes: tuple = ()

    @classmethod
    def from_dict(cls, d: dict) -> JobConfig:
        d = dict(d)
        d["labels"] = tuple(d.get("labels", ()))
        d["hits"] = tuple(tuple(h) for h in d.get("hits", ()))
        d["envelopes"] = tuple(tuple(e) for e in d.get("envelopes", ()))
        if d.get("layout"):
            d["layout"] = Layout(**d["layout"])
        return cls(**_known(cls, d))


@dataclass(frozen=True)
class RunConfig:
    """Everything a run directory's config.json holds."""

    codec: Codec
    job: JobConfig
    model: ModelConfig
    train: TrainConfig
    dataset: dict = field(default_factory=dict)  # {"path", "fingerprint"}
    created_by: str = f"audiornn {__version__}"

    def to_dict(self) -> dict:
        return {"format": RUN_FORMAT, "version": RUN_VERSION, "created_by": self.created_by,
                "codec": dataclasses.asdict(self.codec), "job": dataclasses.asdict(self.job),
                "model": self.model.to_dict(), "train": dataclasses.asdict(self.train),
                "dataset": dict(self.dataset)}

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        try:
            d = migrate_run(d)
            return cls(codec=Codec.from_dict(d["codec"]), job=JobConfig.from_dict(d["job"]),
                       model=ModelConfig.from_dict(d["model"]),
                       train=TrainConfig(**_known(TrainConfig, d.get("train", {}))),
                       dataset=d.get("dataset", {}), created_by=d.get("created_by", ""))
        except (KeyError, TypeError) as e:
            raise AudioRNNError(f"config.json is incomplete or malformed ({e})") from None

    def save(self, run_dir: str | os.PathLike) -> None:
        write_json_atomic(Path(run_dir) / "config.json", self.to_dict())


def read_run_config(run_dir: str | os.PathLike) -> RunConfig:
    """Reads and checks a run's config.json (any version); raises AudioRNNError with the reason."""
    d = read_versioned(run_dir, "config.json", RUN_FORMAT, RUN_VERSION, "run")
    try:
        return RunConfig.from_dict(d)
    except AudioRNNError as e:
        raise AudioRNNError(f"{Path(run_dir)}: {e}") from None


def check_run_dir(run_dir: str | os.PathLike, resume: bool) -> bool:
    """Whether a run already exists at run_dir; an error when that contradicts `resume`
    (checked without Keras: `train` and its command line both call it)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise AudioRNNError(f"{run_dir}: exists and is not a directory")
    has_run = (run_dir / "config.json").exists()
    if resume and not has_run:
        raise AudioRNNError(f"{run_dir}: nothing to resume (no config.json)")
    if has_run and not resume:
        raise AudioRNNError(f"{run_dir}: already holds a run (use --resume to continue it, "
                            "or choose another --run)")
    return has_run


def read_trained_run(run_dir: str | os.PathLike) -> RunConfig:
    """The config of a run that has a complete model.keras (checked without Keras)."""
    import zipfile

    cfg = read_run_config(run_dir)
    path = Path(run_dir) / "model.keras"
    if not path.exists():
        raise AudioRNNError(f"{Path(run_dir)}: no model.keras yet (has an epoch finished?)")
    if not zipfile.is_zipfile(path):
        raise AudioRNNError(f"{path}: not a complete Keras file (truncated or corrupt); "
                            "train the run again or --resume it")
    return cfg


def migrate_run(d: dict) -> dict:
    """Turns a version-1 config.json (fixed inputs, job inside "dsp") into version 2."""
    if d.get("version", RUN_VERSION) >= 2:
        return d
    dsp_cfg, m = d["dsp"], d["model"]
    streams = []
    if m.get("feedback", True):
        streams.append(dataclasses.asdict(code_stream("prev", "target", m.get("embedding", 64))))
    if m.get("dry_input", False):
        streams.append(dataclasses.asdict(code_stream("dry", "input", m.get("embedding", 64))))
    if m.get("n_labels", 0):
        streams.append(dataclasses.asdict(label_stream(m["n_labels"], m.get("label_embedding", 16))))
    layout = dsp_cfg.get("oneshot")
    return {**d, "version": RUN_VERSION,
            "codec": {k: dsp_cfg[k] for k in ("sample_rate", "preemphasis", "mu", "gains")},
            "job": {"name": dsp_cfg.get("job", "generate"), "labels": dsp_cfg.get("labels", []),
                    "layout": layout},
            "model": {"streams": streams, **{k: m[k] for k in ("cell", "layers", "units", "dropout")}}}


def _known(cls, d: dict) -> dict:
    """The keys of d that are fields of the dataclass cls."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def run_config(model: ModelConfig, job: str = "generate", labels: tuple[str, ...] = (),
               codec: Codec | None = None, layout: Layout | None = None) -> RunConfig:
    """A run configuration for a model built in code (tests, benchmarks), default training."""
    gains = {"target": 1.0, **({"input": 1.0} if model.stream("dry") else {})}
    return RunConfig(codec=codec or Codec(gains=gains),
                     job=JobConfig(name=job, labels=tuple(labels), layout=layout),
                     model=model, train=TrainConfig())


def parse_pairs(text: str, option: str) -> dict[str, list[float]]:
    """'a=0.3,b=0.7' (or 'a=1 2' for a vector) -> {name: [numbers]}."""
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise AudioRNNError(f"{option} expects name=value[,name=value], got {text!r}")
        try:
            out[name.strip()] = [float(v) for v in value.split()]
        except ValueError:
            raise AudioRNNError(f"{option} value {value!r} is not a number") from None
        if not out[name.strip()]:
            raise AudioRNNError(f"{option}: {name.strip()!r} has no value")
    return out


def parse_mix(text: str) -> dict[str, float]:
    """'kick=0.3,snare=0.7' -> label weights."""
    return {k: v[0] for k, v in parse_pairs(text, "--mix").items()}
