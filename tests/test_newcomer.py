"""A newcomer's first hour, scripted on tiny data: Ctrl-C then --resume continues at the step,
--max-minutes stops mid-epoch, generated files leave headroom, typos answer before Keras loads,
and the messages speak the user's words."""

import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from helpers import sine_dataset

from audiornn import dsp
from audiornn.data.codec import Codec
from audiornn.jobs.generate import build_from_sources
from audiornn.progress import Progress
from audiornn.runtime.writer import AudioWriter, output_paths, report_levels

RATE = 8000
TINY = ["--window", "128", "--burn-in", "8", "--units", "16", "--layers", "1", "--batch-size", "4",
        "--core", "flat", "--patience", "100"]


def train_cmd(ds, run, *extra):
    return [sys.executable, "-m", "audiornn", "train", str(ds), "--run", str(run), *TINY, *extra]


def env():
    e = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    e.pop("AUDIORNN_KILL_AT", None)
    return e


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return sine_dataset(tmp_path_factory.mktemp("newcomer"), seconds=(3.0, 1.0), rate=RATE)


def wait_for_training(proc, run, timeout=180):
    """Until the trainer has written its config and run some steps."""
    t0 = time.monotonic()
    while not (run / "config.json").exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() - t0 < timeout
        time.sleep(0.2)
    time.sleep(6)  # compile, then steps


def test_ctrl_c_mid_epoch_saves_the_step_and_resume_continues_there(ds, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(train_cmd(ds, run, "--epochs", "2", "--steps-per-epoch", "1000000"),
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_training(proc, run)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    state = json.loads((run / "backup" / "state.json").read_text())
    assert state["epoch"] == 0 and state["step"] > 0, state
    assert f"interrupted at epoch 1, step {state['step']}; the work is saved" in err
    assert (run / "backup" / state["weights"]).exists()
    assert (run / "model.keras").exists()  # usable at once, before any validation
    assert not (run / "history.csv").exists()  # no epoch was completed

    r = subprocess.run(train_cmd(ds, run, "--epochs", "2", "--steps-per-epoch", "1000000",
                                 "--max-minutes", "0.05", "--resume"),
                       env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"resuming {run} at epoch 1, step {state['step'] + 1}" in r.stderr
    assert "--max-minutes reached at epoch 1, step" in r.stderr
    rows = (run / "history.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("0,")  # epoch 1 done once, then the budget
    after = json.loads((run / "backup" / "state.json").read_text())
    assert after["epoch"] == 1 and after.get("step", 0) == 0


def test_sigterm_saves_like_ctrl_c(ds, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(train_cmd(ds, run, "--steps-per-epoch", "1000000"), env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_training(proc, run)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert json.loads((run / "backup" / "state.json").read_text())["step"] > 0


def test_max_minutes_stops_mid_epoch_within_the_budget(ds, tmp_path):
    """An epoch of a million steps, a budget of 6 s: training stops mid-epoch, validates, and
    keeps the best weights and a resumable state."""
    run = tmp_path / "run"
    r = subprocess.run(train_cmd(ds, run, "--steps-per-epoch", "1000000", "--max-minutes", "0.1"),
                       env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "--max-minutes reached at epoch 1, step" in r.stderr
    step = int(r.stderr.split("--max-minutes reached at epoch 1, step ")[1].split()[0])
    assert 0 < step < 1000000
    assert (run / "model.keras").exists()
    rows = (run / "history.csv").read_text().splitlines()
    assert len(rows) == 2 and "val_loss" in rows[0]
    assert json.loads((run / "backup" / "state.json").read_text())["epoch"] == 1


def test_a_resume_with_other_settings_names_them_in_user_words(ds, tmp_path):
    run = tmp_path / "run"
    r = subprocess.run(train_cmd(ds, run, "--epochs", "1", "--steps-per-epoch", "2", "-q"),
                       env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run(train_cmd(ds, run, "--epochs", "2", "--steps-per-epoch", "3", "--resume"),
                       env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert "--steps-per-epoch 3, but the run was started with 2" in r.stderr
    assert "None" not in r.stderr


@pytest.mark.parametrize("argv", [
    ["train", "no-such-dataset", "--run", "r"],
    ["train", "DS", "--run", "r", "--epochs", "0"],
    ["train", "DS", "--run", "r", "--learning-rate", "nan"],
    ["generate", "no-such-run", "--out", "x.wav"],
    ["generate", "no-such-run", "--out", "x.wav", "--temperature", "-1"],
    ["eval", "no-such-run"],
    ["eval", "no-such-run", "--generate", "inf"],
])
def test_a_typo_answers_before_keras_is_imported(ds, tmp_path, argv):
    argv = [str(ds) if a == "DS" else a for a in argv]
    code = ("import sys\nfrom audiornn.__main__ import main\n"
            "try:\n    rc = main(sys.argv[1:])\nexcept SystemExit as e:\n    rc = e.code\n"
            "heavy = [m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules]\n"
            "print('RC', rc, 'HEAVY', heavy)\n")
    r = subprocess.run([sys.executable, "-c", code, *argv], env=env(), cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert "RC 2 HEAVY []" in r.stdout, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def loud_codes(amplitude=3.0, freq=200.0, n=RATE):
    """Codes that decode (with de-emphasis 0.95) to a sine of `amplitude`: far above full scale."""
    t = np.arange(n) / RATE
    x, _ = dsp.preemphasis(amplitude * np.sin(2 * np.pi * freq * t), 0.95)
    return dsp.mu_law_encode(x)


def write_codes(path, codes, mode):
    w = AudioWriter(path, Codec(sample_rate=RATE, preemphasis=0.95, gains={"target": 1.0}))
    try:
        w.append(codes)
        gain = w.finish("pcm16", mode)
    finally:
        w.discard()
    report_levels([w.level], "pcm16")
    return sf.read(path)[0], gain


def test_the_writer_leaves_headroom_by_default(tmp_path, caplog):
    x, gain = write_codes(tmp_path / "default.wav", loud_codes(), False)
    assert np.max(np.abs(x)) == pytest.approx(dsp.PEAK_TARGET, abs=1e-3) and gain < 0.4
    x, _ = write_codes(tmp_path / "peak.wav", loud_codes(0.1), True)  # --normalize: up too
    assert np.max(np.abs(x)) == pytest.approx(dsp.PEAK_TARGET, abs=1e-3)
    x, _ = write_codes(tmp_path / "quiet.wav", loud_codes(0.1), False)  # never turned up
    assert np.max(np.abs(x[RATE // 2:])) == pytest.approx(0.1, abs=0.01)
    with caplog.at_level("WARNING"):
        x, gain = write_codes(tmp_path / "off.wav", loud_codes(), "off")  # --no-normalize
    assert gain == 1.0 and np.max(np.abs(x)) == pytest.approx(1.0, abs=1e-3)
    assert "clipped to full scale" in caplog.text


def test_the_writer_removes_the_rumble_that_de_emphasis_makes(tmp_path):
    x, _ = write_codes(tmp_path / "dc.wav", np.full(RATE, 200, np.int32), False)
    assert np.max(np.abs(x[RATE // 2:])) < 1e-3  # a constant (pure rumble) dies away
    y, _ = write_codes(tmp_path / "tone.wav", loud_codes(0.5, 200.0), False)
    assert np.max(np.abs(y[RATE // 2:])) == pytest.approx(0.5, abs=0.01)  # 200 Hz passes


def test_headroom_never_turns_a_quiet_file_up():
    assert dsp.output_gain(0.5) == 1.0
    assert dsp.output_gain(2.0) == pytest.approx(dsp.PEAK_TARGET / 2.0)
    assert dsp.output_gain(0.5, "peak") == pytest.approx(dsp.PEAK_TARGET / 0.5)
    assert dsp.output_gain(2.0, "off") == 1.0


def test_num_with_a_wav_name_writes_numbered_files_beside_it(tmp_path):
    paths = output_paths(tmp_path / "three.wav", 3)
    assert [p.name for p in paths] == ["three-01.wav", "three-02.wav", "three-03.wav"]
    assert not (tmp_path / "three.wav").exists()
    assert [p.name for p in output_paths(tmp_path / "kit", 2)] == ["00.wav", "01.wav"]


def test_progress_counts_are_integers_with_units_and_plain_lines_in_a_log():
    log = io.StringIO()  # not a terminal
    p = Progress(48000, "sample", per_second=RATE, title="generating", stream=log)
    for k in range(0, 48001, 4000):
        p(k, files=3)
    lines = log.getvalue().splitlines()
    assert lines[0] == "generating"
    assert len(lines) <= 3  # the first, the last (and one per 10 s): not one per update
    assert lines[-1].startswith("48,000 of 48,000 samples (100%) - 3 files")
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()
    assert ".0000" not in log.getvalue()


def test_a_garbage_mp3_gives_the_decoders_reason_and_no_native_line(tmp_path):
    from audiornn.data import audio

    bad = tmp_path / "song.mp3"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 200000, dtype=np.uint8).tobytes())
    code = ("import sys\nfrom audiornn.data import audio\n"
            "try:\n    audio.info(sys.argv[1])\nexcept audio.BadAudioFile as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True,
                       timeout=60)
    assert r.stderr.strip() == "", r.stderr  # libmpg123's own line stays off the terminal
    assert "does not exist" not in r.stdout and "not a readable audio file" in r.stdout
    with pytest.raises(audio.BadAudioFile):
        audio.info(bad)


def test_validation_respects_the_fraction_with_few_uneven_files(tmp_path):
    from audiornn import data as dataset

    src = tmp_path / "src"
    src.mkdir()
    t = np.arange(RATE * 8) / RATE
    for name, seconds in (("long", 6.0), ("mid", 1.5), ("short", 0.8)):  # 3 files, 8.3 s
        sf.write(src / f"{name}.wav", 0.5 * np.sin(2 * np.pi * 220 * t[:int(seconds * RATE)]), RATE)
    meta = build_from_sources([src], tmp_path / "ds",
                                      dataset.DataConfig(sample_rate=RATE, val_fraction=0.1))
    c = meta["counts"]
    share = c["val_hours"] / (c["val_hours"] + c["train_hours"])
    assert 0.05 <= share <= 0.15, share
