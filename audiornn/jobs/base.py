"""What a job is: the declarations that every other module dispatches through."""

from __future__ import annotations

from dataclasses import dataclass, field

from audiornn import heads
from audiornn.streams import Stream, code_stream, label_stream, vector_stream


@dataclass(frozen=True)
class WebForm:
    """A job's controls on the web page (`serve`).

    Attributes:
      panel: the page's control panel to show.
      button: the button's text.
      what: a few words on what the run does.
      fields: the panel's inputs sent as query parameters.
      upload: the file input whose file is the request body.
      upload_required: the job needs that file.
    """

    panel: str
    button: str
    what: str
    fields: tuple[str, ...] = ()
    upload: str = ""
    upload_required: bool = False


@dataclass(frozen=True)
class Job:
    """A job: how its dataset is built, what the model sees, how it trains, generates and is judged.

    Attributes:
      name: the registry key, saved in datasets and runs.
      summary: one line for help texts.
      preemphasis: the default pre-emphasis of its datasets.
      max_silence: the default longest silence (seconds) kept in its datasets;
        0: silences are kept whole, and shortening them is not offered (pairs
        must stay aligned, hits keep their length).
      defaults: training defaults that differ from the dataclasses' (keys of
        config.ModelConfig or config.TrainConfig); the data-dependent ones come
        from `train_defaults`.
      start_mode: where training windows start: "random" anywhere a window
        fits, or "segment": at the start of a segment (from silence).
      eval_sections: the sections of `eval` beyond the curves and held-out
        bits: "generated" (spectra of sampled audio), "effect" (apply to a
        dry/wet pair) or "oneshots" (hits per label).
      form: its web form.
      temperature: the default sampling temperature of generate, eval and serve.
      floor: the default probability floor cut at each sampling step (runtime/sampler._decode).
      top_p: the default share of nucleus sampling (1: the whole distribution).
      level: the default level policy of generate's files (dsp.LEVELS).
      gate_db: one-shots: hits end once they fall this far below their peak, or before
        they fire again (dsp.end_hit; 0: off).
    """

    name: str
    summary: str
    preemphasis: float = 0.95
    max_silence: float = 0.0
    defaults: dict = field(default_factory=dict)
    start_mode: str = "random"
    eval_sections: tuple[str, ...] = ("generated",)
    form: WebForm = WebForm("gen", "Generate", "generates audio")
    temperature: float = 1.0
    floor: float = 0.0
    top_p: float = 1.0
    level: str = "headroom"
    gate_db: float = 0.0

    # ------------------------------------------------------------------ data

    def claims(self, request: dict) -> bool:
        """Whether a `data` request (its options) builds this job's dataset."""
        return False

    def sample_rate(self, request: dict) -> int | None:
        """The dataset's sample rate when `data` is not given one (None: the DataConfig's)."""
        return None

    def build_dataset(self, request: dict, out, config, progress_factory, overwrite: bool) -> dict:
        """Builds this job's dataset directory from a `data` request; returns its dataset.json."""
        raise NotImplementedError

    def describe_dataset(self, meta: dict) -> list[str]:
        """Extra summary lines for a built dataset."""
        return []

    # ------------------------------------------------------------------ model

    def streams(self, meta: dict, embedding: int, feedback: bool = True,
                head: str = "classes", **options) -> tuple[Stream, ...]:
        """The model's input streams for a dataset: what the model sees at each step.

        Every job sees its previous output code (unless an input-only model is
        asked for where an input exists), the dataset's labels as a label
        stream, and each of the dataset's conditions as a vector stream. The
        regression head (a float output) sees no previous output: its inputs are
        float signals. Whether a run applies to an input follows from these
        streams (a stream reading the dataset's "input").
        `options` are the training options a job may read (one-shots:
        latent_dim, position).
        """
        out = []
        if feedback and not heads.get(head).float_output:
            out.append(code_stream("prev", "target", embedding))
        out += self.input_streams(meta, embedding, head)
        if meta.get("labels"):
            out.append(label_stream(len(meta["labels"])))
        for name, c in sorted(meta.get("conditions", {}).items()):
            out.append(vector_stream(name, int(c["size"]), c.get("per", "sequence")))
        return tuple(out)

    def input_streams(self, meta: dict, embedding: int, head: str = "classes") -> list[Stream]:
        """Per-step streams besides the previous output (effects: the dry code or signal)."""
        return []

    def train_defaults(self, meta: dict, given: dict | None = None) -> dict:
        """Training defaults for a dataset (the job's `defaults`, plus data-dependent ones);
        `given`: the settings the user chose, which some defaults follow."""
        return dict(self.defaults)

    # ------------------------------------------------------------------ web page (serve)

    def serve_params(self, q: dict, body: bytes | None, number, gen, limits) -> dict:
        """This job's parameters of a web request, checked (beyond seed, temperature, floor).

        Args:
          q: the query parameters; body: the uploaded file's bytes, if any.
          number: number(name, default, lo, hi) reads and bounds a query number.
          gen: the run's engine (runtime.open_run); limits: the server's web.server.Limits.
        """
        return {}

    def serve_run(self, gen, p: dict, upload, out, progress) -> list:
        """Does a web request's work with the run's engine; returns the files written in `out`.
        The default samples one file of the default length."""
        return gen.write(out / "00.wav", seed=p["seed"], temperature=p["temperature"],
                         floor=p.get("floor", 0.0), top_p=p.get("top_p", 1.0), normalize=True, progress=False,
                         callback=progress)
