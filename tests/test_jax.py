"""The JAX backend: the same models, loops and runs under KERAS_BACKEND=jax.

The suite runs on TensorFlow; each test here runs its JAX half in a fresh
Python process (the backend is chosen when Keras is imported), so CI checks
both backends with one pytest command.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import sine_dataset

pytest.importorskip("jax", reason="jax is a dev package (pipenv sync --dev)")

RATE = 8000


def run_backend(code: str, backend: str = "jax", devices: int = 1) -> str:
    """Runs code in a fresh process on a Keras backend; returns its stdout."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               JAX_PLATFORMS="cpu", XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    return r.stdout


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A small one-shot dataset (two labels) and a generation dataset."""
    import soundfile as sf

    from audiornn import data as dataset
    from audiornn.jobs.oneshot_data import build_oneshots

    tmp = tmp_path_factory.mktemp("jax")
    rng = np.random.default_rng(0)
    for name, f in (("kick", 70.0), ("hat", 2500.0)):
        for k in range(4):
            n = int(0.1 * RATE)
            x = np.sin(2 * np.pi * f * np.arange(n) / RATE) * np.exp(-np.arange(n) / 150)
            (tmp / "kit" / name).mkdir(parents=True, exist_ok=True)
            sf.write(tmp / "kit" / name / f"{k}.wav", x * rng.uniform(0.5, 0.9), RATE)
    build_oneshots(tmp / "kit", tmp / "shots", dataset.DataConfig(sample_rate=RATE),
                           attack=0.01, length=0.1, envelope=True)
    sine_dataset(tmp, seconds=(1.0,), rate=RATE, name="sine")
    return tmp


def test_jax_builds_trains_generates_saves_and_loads(kit):
    out = run_backend(f"""
        import json, numpy as np, keras
        assert keras.backend.backend() == "jax"
        from audiornn.config import ModelConfig
        from audiornn.streams import (code_stream, envelope_stream, label_stream, latent_stream,
                                      position_stream)
        from audiornn.runtime.model import build_model, load_run
        from audiornn.cores import make_core
        from audiornn.runtime.sampler import Generator
        from audiornn.training.train import TrainConfig, train
        # the step core's logits are the Keras model's (flat, tiered, tiered with --lpc and
        # with --pitch), with every one-shot stream (the hit's point, its position, its envelope)
        worst = 0.0
        for core, lpc, lag in (("flat", 0, 0), ("tiered", 0, 0), ("tiered", 4, 0), ("tiered", 0, 9)):
            streams = (code_stream("prev", "target", 8), label_stream(2, 4), latent_stream(4, 2),
                       position_stream(), envelope_stream())
            mc = ModelConfig.make(streams=streams, layers=2, units=12, core=core, frame=4,
                             sample_units=16, **(dict(lpc=lpc, lpc_history=8) if lpc else dict()),
                             **(dict(pitch=lag, pitch_window=8) if lag else dict()))
            keras.utils.set_random_seed(0)
            m = build_model(mc)
            rng = np.random.default_rng(1)
            for w in m.trainable_weights:
                w.assign(w + rng.normal(0, 0.2, w.shape).astype("float32"))
            b, t = 2, 16
            x = {{"prev": rng.integers(0, 256, (b, t)).astype("int32"),
                  "label": np.array([0, 1], "int32"), "latent": np.array([3, 1], "int32"),
                  "position": np.tile(np.arange(t)[None, :, None] / 50.0, (b, 1, 1)).astype("float32"),
                  "envelope": rng.uniform(0, 1, (b, t, 1)).astype("float32")}}
            ref = np.asarray(m(x))
            c = make_core(m, mc)
            bias = c.sequence_bias({{"label": np.eye(2)[x["label"]],
                                    "latent": c.latent_points[x["latent"]]}}, b)
            state, steps = c.zero_state(b), []
            for k in range(t):
                logits, state = c.step({{"prev": x["prev"][:, k], "position": x["position"][:, k],
                                        "envelope": x["envelope"][:, k]}}, bias, state)
                steps.append(np.asarray(logits))
            worst = max(worst, float(np.max(np.abs(np.stack(steps, 1) - ref))))
        print("STEP", worst)
        # a training step, save and load, and generation from the loaded run
        h = train({str(kit / "shots")!r}, {str(kit / "jax-run")!r},
                  options=dict(layers=1, units=8, embedding=4),
                  train_cfg=TrainConfig(window=800, burn_in=0, batch_size=4, epochs=2,
                                        steps_per_epoch=2), verbose=0)
        print("LOSS", json.dumps([float(v) for v in h["loss"]]))
        m2, cfg = load_run({str(kit / "jax-run")!r})
        gen = Generator(m2, cfg)
        env = gen.hit_envelopes(2, 300, label_weights=np.eye(2))
        a = np.concatenate(list(gen.sample(300, batch=2, seed=5, mix=np.eye(2), envelope=env)), axis=1)
        b2 = np.concatenate(list(gen.sample(300, batch=2, seed=5, mix=np.eye(2), envelope=env)), axis=1)
        print("SAME", bool(np.array_equal(a, b2)), a.shape)
        paths = gen.write({str(kit / "jax-out")!r}, num=2, label="kick", progress=False)
        print("FILES", len(paths))
    """)
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert float(lines["STEP"]) < 1e-4
    losses = json.loads(lines["LOSS"])
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert lines["SAME"].startswith("True") and "(2, 300)" in lines["SAME"]
    assert lines["FILES"] == "2"
    assert (kit / "jax-run" / "map.json").exists()


def test_runs_move_between_backends(kit):
    """A run trained on TensorFlow gives the same logits on JAX, and the other way round."""
    probe = """
        import json, sys, numpy as np
        from keras import ops
        from audiornn.runtime.model import load_run
        from audiornn.cores import make_core
        m, cfg = load_run(sys.argv[1] if len(sys.argv) > 1 else RUN)
        rng = np.random.default_rng(7)
        b, t = 2, 40
        prev = rng.integers(0, 256, (b, t)).astype("int32")
        c = make_core(m, cfg.model)
        inputs = {"prev": prev}
        if cfg.model.stream("position"):
            inputs["position"] = np.tile(np.arange(t)[None, :, None] / 800.0, (b, 1, 1)).astype("float32")
        if cfg.model.stream("envelope"):
            inputs["envelope"] = np.tile(np.linspace(1, 0, t)[None, :, None], (b, 1, 1)).astype("float32")
        cond = {"label": np.eye(2)} if cfg.model.stream("label") else {}
        if cfg.model.stream("latent"):
            cond["latent"] = c.latent_points[:2]
        logits, _ = c.run(inputs, c.sequence_bias(cond, b), c.zero_state(b))
        np.save(OUT, np.asarray(logits))
    """
    from audiornn.training.train import TrainConfig, train

    train(kit / "sine", kit / "tf-run", options=dict(layers=1, units=8, embedding=4),
          train_cfg=TrainConfig(window=64, burn_in=4, batch_size=4, epochs=1, steps_per_epoch=2),
          verbose=0)
    for run, trained_on in ((kit / "tf-run", "tensorflow"), (kit / "jax-run", "jax")):
        if not run.exists():  # the JAX run comes from the test above
            pytest.skip("the JAX-trained run was not made")
        logits = {}
        for backend in ("tensorflow", "jax"):
            out = kit / f"logits-{run.name}-{backend}.npy"
            run_backend(f"RUN = {str(run)!r}\nOUT = {str(out)!r}\n" + textwrap.dedent(probe),
                        backend)
            logits[backend] = np.load(out)
        np.testing.assert_allclose(logits["jax"], logits["tensorflow"], atol=1e-4,
                                   err_msg=f"trained on {trained_on}")


def test_jax_data_parallel_on_two_cpu_devices(kit):
    out = run_backend(f"""
        import keras
        from audiornn.training.train import TrainConfig, train

        seen = []

        class Spy(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                d = keras.distribution.distribution()
                seen.append(type(d).__name__ if d else None)

        import audiornn.training.train as t
        real_fit = keras.Model.fit
        def fit(self, *a, **k):
            k["callbacks"] = list(k.get("callbacks") or []) + [Spy()]
            return real_fit(self, *a, **k)
        keras.Model.fit = fit
        h = train({str(kit / "sine")!r}, {str(kit / "jax-dp")!r},
                  options=dict(layers=1, units=8, embedding=4),
                  train_cfg=TrainConfig(window=64, burn_in=4, batch_size=4, epochs=1,
                                        steps_per_epoch=3, strategy="mirrored"), verbose=0)
        print("DEVICES", len(keras.distribution.list_devices()))
        print("DIST", ",".join(map(str, seen)))
        print("AFTER", keras.distribution.distribution())
        print("LOSS", h["loss"][0])
    """, devices=2)
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert lines["DEVICES"] == "2"
    assert lines["DIST"] == "DataParallel,DataParallel,DataParallel"
    assert lines["AFTER"] == "None"  # the process-wide distribution is put back
    assert np.isfinite(float(lines["LOSS"]))



def test_jax_ema_and_lr_decay(kit):
    """--ema swaps the averaged weights in for validation under JAX's own training loop too
    (its state is carried outside the Keras variables within an epoch): the same training
    losses, other validation losses; the average warms up as on TensorFlow; and --lr-decay
    reaches the optimizer there."""
    out = run_backend(f"""
        import json
        from audiornn.training.train import TrainConfig, train
        import sys
        sys.path.insert(0, "tests")
        from helpers import warm_averages
        got, want = warm_averages()
        print("WARM", float(abs(got - want).max()))
        for name, ema, decay in (("plain", 0.0, 1.0), ("ema", 0.99, 1.0)):
            h = train({str(kit / "sine")!r}, {str(kit)!r} + "/jax-" + name,
                      options=dict(layers=1, units=32, embedding=16),
                      train_cfg=TrainConfig(window=128, burn_in=16, batch_size=16, epochs=3,
                                            steps_per_epoch=20, learning_rate=2e-2, ema=ema,
                                            lr_decay=decay, patience=100), verbose=0)
            print(name.upper(), json.dumps([h["loss"], h["val_loss"]]))
        # Adam's first steps move a weight by about the step size: 0.01, 0.001, 0.0001
        import keras, numpy as np
        from audiornn.training.callbacks import LearningRateDecay
        m = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False,
                                                                    kernel_initializer="zeros")])
        m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        ws = [0.0]
        at_end = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda e, logs: ws.append(float(np.asarray(m.layers[0].kernel)[0, 0])))
        m.fit(np.ones((4, 1)), 10 * np.ones((4, 1)), epochs=3, batch_size=4, verbose=0,
              callbacks=[LearningRateDecay(0.01, 0.01, epochs=3), at_end])
        print("MOVES", json.dumps(np.diff(ws).tolist()))
    """)
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert float(lines["WARM"]) < 1e-6
    (loss, val), (avg_loss, avg_val) = json.loads(lines["PLAIN"]), json.loads(lines["EMA"])
    np.testing.assert_allclose(avg_loss[0], loss[0], rtol=1e-5)
    assert max(val) < 1.0 and abs(avg_val[0] - val[0]) > 0.01 * max(avg_val[0], val[0])
    np.testing.assert_allclose(json.loads(lines["MOVES"]), [0.01, 0.001, 0.0001], rtol=0.2)
