"""Behaviour unchanged: version-1 runs recorded before the jobs/streams refactor still give
the same generated codes and held-out bits (tests/golden/record.py made them).

Loading them also exercises the migration of version-1 runs and datasets. The
sampled codes were re-recorded once, when sampling became inverse-CDF sampling
(see expected.json's note); the bits and the argmax codes are the originals.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from audiornn.data import open_dataset
from audiornn.runtime.model import load_run
from audiornn.runtime.sampler import Generator
from audiornn.runtime.scoring import Scorer, dataset_sequences

GOLDEN = Path(__file__).parent / "golden"
EXPECTED = {k: v for k, v in json.loads((GOLDEN / "expected.json").read_text()).items()
            if not k.startswith("_")}


def outputs(folder: Path) -> dict:
    model, config = load_run(folder / "run")
    ds = open_dataset(folder / "data")
    gen = Generator(model, config, chunk=100)
    out = {"bits": Scorer(model, config).score(dataset_sequences(ds, "val"))["bits"]}
    if "input" in ds.streams:
        dry = np.asarray(ds.streams["input"][:300], np.int32)
        chunks = [dry[k:k + 100] for k in range(0, len(dry), 100)]
        for mode in ("argmax", "sample"):
            out[f"apply_{mode}"] = np.concatenate([c for c, _ in gen.apply_codes(chunks, mode, seed=3)])
    else:
        mix = gen.mix_matrix(gen.labels[-1] if gen.labels else None, None, 2)
        out["sample"] = np.concatenate(list(gen.sample(250, batch=2, seed=7, mix=mix)), axis=1)
        prime = np.asarray(ds.streams["target"][:120], np.int32)
        out["primed"] = np.concatenate(list(gen.sample(150, batch=1, seed=2, prime_codes=prime,
                                                       mix=gen.mix_matrix(None, None, 1))), axis=1)
    return out


@pytest.mark.parametrize("job", sorted(EXPECTED))
def test_golden_outputs_hold(job):
    got = outputs(GOLDEN / job)
    want = EXPECTED[job]
    assert got["bits"] == pytest.approx(want["bits"], abs=1e-4)
    for key, codes in want.items():
        if key != "bits":
            np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(codes), err_msg=key)


def test_version_1_runs_migrate_to_typed_streams():
    _, config = load_run(GOLDEN / "oneshot" / "run")
    assert [s.name for s in config.model.streams] == ["prev", "label"]
    assert config.job.name == "oneshot" and config.job.labels == ("high", "low")
    assert config.job.layout.length_samples == 800
    _, config = load_run(GOLDEN / "effect_nofb" / "run")
    assert [s.name for s in config.model.streams] == ["dry"] and config.model.cell == "gru"
    assert not config.model.feedback
