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

from audiornn import __version__
from audiornn.codec import Codec
from audiornn.errors import AudioRNNError
from audiornn.files import read_versioned, write_json_atomic

RUN_FORMAT = "audiornn-run"
RUN_VERSION = 2

STREAM_KINDS = ("code", "label", "vector", "signal", "latent", "position")
HEADS = ("classes", "regression")


@dataclass(frozen=True)
class Stream:
    """One declared input of the model: what it is, and where its values come from.

    Attributes:
      name: the model input's name ("prev", "dry", "label", a knob's name, ...).
      kind: "code" (a mu-law code per step, embedded), "label" (a class index
        per sequence, embedded), "vector" (continuous values, fed as they are) or
        "signal" (a code stream decoded to its float samples, per step: the
        regression head's dry input), "latent" (a learned point per training
        sequence: an index into a table of `classes` points of `size`
        dimensions while training, the point itself when generating; the
        one-shots' map) or "position" (per step: the step's index within the
        sequence divided by the one-shot length, computed, not stored).
      per: "step" (a value at every sample) or "sequence" (one per sequence).
      source: where a dataset holds it: "target" (the previous output code:
        the stream generation feeds back), "input" (the dry code of the same
        step), "label", or the name of one of the dataset's conditions.
      size: the embedding size (code, label) or the vector's dimension.
      classes: the number of classes (codes: 256; labels: how many).
    """

    name: str
    kind: str
    per: str = "step"
    source: str = ""
    size: int = 64
    classes: int = 0

    def validate(self) -> None:
        if self.kind not in STREAM_KINDS:
            raise AudioRNNError(f"stream {self.name!r}: kind must be one of {STREAM_KINDS}")
        if self.per not in ("step", "sequence"):
            raise AudioRNNError(f"stream {self.name!r}: per must be step or sequence")
        if (self.kind in ("code", "signal", "position") and self.per != "step"
                or self.kind in ("label", "latent") and self.per != "sequence"):
            raise AudioRNNError(f"stream {self.name!r}: a {self.kind} stream cannot be per {self.per}")
        if self.size < 1 or (self.kind in ("code", "label", "latent") and self.classes < 1):
            raise AudioRNNError(f"stream {self.name!r}: size and classes must be positive")

    @property
    def feedback(self) -> bool:
        """True for the previous output code, which generation feeds back."""
        return self.kind == "code" and self.source == "target"

    @property
    def embedded(self) -> bool:
        """An index input looked up in a learned table (codes, labels, latent points)."""
        return self.kind in ("code", "label", "latent")


def code_stream(name: str, source: str, size: int) -> Stream:
    return Stream(name, "code", "step", source, size, 256)


def label_stream(n_labels: int, size: int = 16) -> Stream:
    return Stream("label", "label", "sequence", "label", size, n_labels)


def signal_stream(name: str, source: str) -> Stream:
    return Stream(name, "signal", "step", source, 1, 0)


def vector_stream(name: str, size: int, per: str = "sequence") -> Stream:
    return Stream(name, "vector", per, name, size, 0)


def latent_stream(n_points: int, size: int = 2) -> Stream:
    """A learned point per training hit (n_points rows: the hits, then the centre)."""
    return Stream("latent", "latent", "sequence", "hit", size, n_points)


def position_stream() -> Stream:
    return Stream("position", "position", "step", "position", 1, 0)


@dataclass(frozen=True)
class ModelConfig:
    """The architecture: the declared input streams and the core between them and the logits.

    Attributes:
      streams: the inputs, in the order their features are concatenated.
      core: "flat" (recurrent layers stepping once per sample) or "tiered" (a
        frame-level RNN stepping once per `frame` samples conditions a
        sample-level MLP; see tiered.py).
      cell: "lstm" or "gru" (tiered: the frame tier's).
      layers: number of stacked recurrent layers (tiered: the frame tier's).
      units: units per recurrent layer (tiered: the frame tier's).
      dropout: dropout between recurrent layers during training (flat).
      frame: tiered: samples per frame, F.
      sample_units: tiered: width of the sample-level MLP.
      sample_layers: tiered: its layers before the logits (the first reads the window).
      head: "classes" (256 logits per step: a distribution over the next code)
        or "regression" (one float per step: the wet sample; effects).
      skip: regression: add the dry input to the output (the model learns the
        difference; Wright et al.'s input skip).
    """

    streams: tuple[Stream, ...] = (code_stream("prev", "target", 64),)
    cell: str = "lstm"
    layers: int = 2
    units: int = 256
    dropout: float = 0.0
    core: str = "flat"
    frame: int = 16
    sample_units: int = 256
    sample_layers: int = 2
    head: str = "classes"
    skip: bool = False

    def validate(self) -> None:
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
        if self.core not in ("flat", "tiered"):
            raise AudioRNNError(f"--core must be flat or tiered, got {self.core!r}")
        if self.core == "tiered":
            if not 2 <= self.frame <= 256:
                raise AudioRNNError(f"--frame must be in [2, 256], got {self.frame}")
            if not (1 <= self.sample_units <= 4096 and 1 <= self.sample_layers <= 8):
                raise AudioRNNError("--sample-units must be in [1, 4096] and --sample-layers in [1, 8]")
            others = [s.name for s in self.streams if s.kind == "code" and not s.feedback]
            if not self.feedback or others:
                raise AudioRNNError("the tiered core models a signal from its own past; an input "
                                    f"stream ({', '.join(others) or 'no previous code'}) needs "
                                    "--core flat")

        if self.head not in HEADS:
            raise AudioRNNError(f"--head must be classes or regression, got {self.head!r}")
        signals = [s for s in self.streams if s.kind == "signal"]
        if self.head == "regression":
            if self.core != "flat" or self.feedback or not signals:
                raise AudioRNNError("the regression head maps a dry input to the wet output "
                                    "(effects, with --core flat); it has no previous code to feed")
        elif signals or self.skip:
            raise AudioRNNError("float inputs and --skip go with --head regression")

    def stream(self, name: str) -> Stream | None:
        return next((s for s in self.streams if s.name == name), None)

    @property
    def feedback(self) -> bool:
        """Whether the model sees its own previous output (autoregressive)."""
        return any(s.feedback for s in self.streams)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        d = dict(d)
        d["streams"] = tuple(Stream(**s) for s in d.get("streams", ()))
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
    patience: int = 5
    seed: int = 0
    val_windows: int = 256
    sample_every: int = 0
    sample_seconds: float = 2.0
    strategy: str = "auto"
    mixed_precision: bool = False
    max_minutes: float = 0.0
    stateful: int = 0

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
        if self.stateful < 0 or (self.stateful > 1 and self.strategy != "auto"):
            raise AudioRNNError("--stateful N takes N >= 0 windows, with --strategy auto")


#: Settings that may differ when a run is resumed (everything else must match).
RESUMABLE = frozenset({"epochs", "patience", "sample_every", "sample_seconds", "strategy",
                       "max_minutes"})


@dataclass(frozen=True)
class Layout:
    """Where a one-shot sits in its fixed-length window (seconds and samples)."""

    attack: float
    length: float
    attack_samples: int
    length_samples: int
    fade: float = 0.01


@dataclass(frozen=True)
class JobConfig:
    """The job a run was trained for, with what it needs besides the model.

    Attributes:
      name: a registered job ("generate", "effect", "oneshot").
      labels: class names of a labelled dataset, in label-index order.
      layout: the one-shot layout of a hit dataset, else None.
      conditions: each dataset condition's (continuous stream's) name -> the
        values seen in training, for defaults and range checks.
      hits: one-shot runs with a map: each training hit's (file name, label
        index or None), in the order of the latent table's rows.
    """

    name: str = "generate"
    labels: tuple[str, ...] = ()
    layout: Layout | None = None
    conditions: dict = field(default_factory=dict)
    hits: tuple = ()

    @classmethod
    def from_dict(cls, d: dict) -> JobConfig:
        d = dict(d)
        d["labels"] = tuple(d.get("labels", ()))
        d["hits"] = tuple(tuple(h) for h in d.get("hits", ()))
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
