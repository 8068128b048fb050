"""Scoring: the bits per sample a run's model assigns to code sequences, state carried across.

A sequence is a dict with "target" codes, plus what the model's declared
streams need: "input" codes (effects), a "label" index, and "values" for
per-sequence conditions ({name: [floats]}) or "step_values" ({name: (n, size)}).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from keras import ops

from audiornn import dsp
from audiornn.config import RunConfig
from audiornn.data import Dataset
from audiornn.metrics import LN2


class Scorer:
    """Scores code sequences with a trained model, carrying the state across each sequence.

    Position n is predicted from target codes before n (the first from
    silence) and every other stream's value at n, exactly as in training
    (a one-shot map's point: the sequence's "latent", else the centre row).
    Sequences run side by side in batches, each in chunks of `chunk` steps
    with the state carried over.
    """

    def __init__(self, model, config: RunConfig, chunk: int = 4096, batch: int = 32):
        from audiornn import cores
        from audiornn.distribute import backend

        self.core = cores.make_core(model, config.model)
        # A chunk ends on a frame boundary, where the tiered core's run continues exactly.
        frame = cores.granularity(config.model)
        self.chunk, self.batch = max(frame, int(chunk) // frame * frame), int(batch)
        layout = config.job.layout
        self.position_scale = 1.0 / (layout.length_samples if layout else 1)
        self._fn = backend.jit(self._chunk_fn)

    def _chunk_fn(self, inputs, bias, targets, state):
        logits, state = self.core.run(inputs, bias, state)
        logp = ops.log_softmax(logits, axis=-1)
        lp = ops.take_along_axis(logp, ops.expand_dims(targets, -1), axis=-1)[..., 0]
        top = ops.cast(ops.argmax(logits, axis=-1), "int32")
        return lp, top, state

    def _batch_inputs(self, seqs: list[dict], n: int):
        """The padded (batch, n) targets, per-step inputs and per-sequence conditions."""
        b = len(seqs)
        tgt = np.full((b, n), dsp.SILENCE_CODE, np.int32)
        for r, s in enumerate(seqs):
            tgt[r, :len(s["target"])] = s["target"]
        step, cond = {}, {}
        for st in self.core.config.streams:  # each kind gives its own value (streams.py)
            (step if st.per == "step" else cond)[st.name] = st.behaviour.scoring(st, seqs, n, self)
        return tgt, step, cond

    def log_probs(self, sequences: list[dict], progress=None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per sequence: (natural-log probability of each target code, the model's top-1 code)."""
        core = self.core
        order = sorted(range(len(sequences)), key=lambda k: -len(sequences[k]["target"]))
        results: list = [None] * len(sequences)
        done = 0
        for g in range(0, len(order), self.batch):
            idx = order[g:g + self.batch]
            n = len(sequences[idx[0]]["target"])
            b = len(idx)
            tgt, step, cond = self._batch_inputs([sequences[k] for k in idx], n)
            bias = core.sequence_bias(cond, b)
            state = core.zero_state(b)
            lps, tops = [], []
            for s0 in range(0, n, self.chunk):
                s1 = min(n, s0 + self.chunk)
                lp, top, state = self._fn({k: ops.convert_to_tensor(v[:, s0:s1])
                                           for k, v in step.items()},
                                          bias, ops.convert_to_tensor(tgt[:, s0:s1]), state)
                lps.append(np.asarray(lp))
                tops.append(np.asarray(top))
                if progress:
                    progress(done + sum(min(len(sequences[k]["target"]), s1) for k in idx))
            lp_all, top_all = np.concatenate(lps, axis=1), np.concatenate(tops, axis=1)
            for r, k in enumerate(idx):
                m = len(sequences[k]["target"])
                results[k] = (lp_all[r, :m].astype(np.float64), top_all[r, :m])
            done += sum(len(sequences[k]["target"]) for k in idx)
        return results

    def score(self, sequences: list[dict], progress=None) -> dict:
        """{bits, accuracy, samples} over all positions of all sequences."""
        res = self.log_probs(sequences, progress)
        n = sum(len(lp) for lp, _ in res)
        nats = -sum(float(np.sum(lp)) for lp, _ in res)
        hits = sum(int(np.sum(top == s["target"])) for (_, top), s in zip(res, sequences))
        return {"bits": nats / max(n, 1) / LN2, "accuracy": hits / max(n, 1), "samples": n}


def dataset_sequences(ds: Dataset, split: str, max_codes: int | None = None,
                      seed: int = 0) -> list[dict]:
    """The split's segments as sequences (views into the memory maps), up to max_codes in all.

    Segments are taken in a fixed shuffled order; the last one is cut to fit. Hits with an
    envelope stream end where it last rises above its floor (their padding is silence the
    model is not trained on, as windows.py leaves it unscored).
    """
    segs = ds.split(split)
    order = np.random.default_rng(seed).permutation(len(segs)) if max_codes else range(len(segs))
    out, total = [], 0
    for k in order:
        s = segs[k]
        length = s.length if max_codes is None else min(s.length, max_codes - total)
        if length < 1:
            break
        a, b = s.offset, s.offset + length
        if "envelope" in ds.step_values and ds.meta.get("oneshot", {}).get("envelope"):
            live = np.nonzero(np.asarray(ds.step_values["envelope"][a:b, 0]) > 0)[0]
            b = a + (int(live[-1]) + 1 if len(live) else 1)
        seq = {"target": np.asarray(ds.streams["target"][a:b], np.int32),
               "label": s.label, "values": dict(s.values), "name": f"{Path(s.source).name}@{s.start}",
               "step_values": {n: np.asarray(v[a:b]) for n, v in ds.step_values.items()}}
        for name, arr in ds.streams.items():
            if name != "target":
                seq[name] = np.asarray(arr[a:b], np.int32)
        out.append(seq)
        total += length
    return out


def split_sequences(sequences: list[dict], piece: int) -> list[dict]:
    """Cuts sequences into pieces of `piece` codes that can be scored side by side.

    Each piece starts from a fresh state, so this trades exactness for speed
    where the held-out audio is one long file (`--split SECONDS`).
    """
    out = []
    for s in sequences:
        n = len(s["target"])
        for a in range(0, n, piece):
            p = {k: (v[a:a + piece] if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            p["step_values"] = {k: v[a:a + piece] for k, v in s.get("step_values", {}).items()}
            out.append(p)
    return out
