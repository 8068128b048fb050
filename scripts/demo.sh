#!/usr/bin/env bash
# The main job end to end on the bundled (synthesized) default data:
# install, build the dataset, train for a fixed small budget, generate audio,
# then evaluate the run (plots, eval.json and a table of quality numbers).
#
#   scripts/demo.sh            # the default job
#   scripts/demo.sh oneshots   # drum one-shots from a synthesized kit
#
# Environment: DEMO_EPOCHS and DEMO_STEPS change the training budget
# (default 12 epochs x 30 steps of 32 windows of 1024 samples with the tiered
# core: about 4 minutes on a 2-core CPU; oneshots: 8 epochs x 30 steps of 16
# whole hits, about 9).
source "$(dirname "$0")/_env.sh"
JOB="${1:-generate}"
EPOCHS="${DEMO_EPOCHS:-12}"
STEPS="${DEMO_STEPS:-30}"
PYRUN=("$VENV_PY" -m audiornn)

case "$JOB" in
generate)
    echo "== 1/4 data: synthesizing the default corpus and building data/demo"
    "${PYRUN[@]}" data --demo --out data/demo --overwrite
    echo "== 2/4 train: ${EPOCHS} epochs x ${STEPS} steps into runs/demo"
    rm -rf runs/demo
    "${PYRUN[@]}" train data/demo --run runs/demo --epochs "$EPOCHS" \
        --steps-per-epoch "$STEPS" --patience "$EPOCHS"
    echo "== 3/4 generate: 8 seconds into out/demo.wav (temperature 0.9)"
    mkdir -p out
    "${PYRUN[@]}" generate runs/demo --out out/demo.wav --seconds 8 --seed 0 --temperature 0.9
    echo "== 4/4 eval: held-out bits per sample, baselines, plots"
    "${PYRUN[@]}" eval runs/demo --compare out/demo.wav
    echo
    echo "outputs:"
    echo "  dataset:   $ROOT/data/demo        (dataset.json, target.npy)"
    echo "  run:       $ROOT/runs/demo        (config.json, model.keras, history.csv)"
    echo "  generated: $ROOT/out/demo.wav"
    echo "  eval:      $ROOT/runs/demo/eval.json, $ROOT/runs/demo/plots/*.png"
    ;;
oneshots)
    echo "== 1/4 data: synthesizing a drum kit (kick, snare, hat) into data/oneshots"
    "${PYRUN[@]}" data --demo-kit --out data/oneshots --overwrite --attack 0.02 --length 0.3
    echo "== 2/4 train: ${DEMO_EPOCHS:-8} epochs x ${STEPS} steps into runs/oneshots"
    rm -rf runs/oneshots
    "${PYRUN[@]}" train data/oneshots --run runs/oneshots --epochs "${DEMO_EPOCHS:-8}" \
        --steps-per-epoch "$STEPS" --patience "${DEMO_EPOCHS:-8}"  # the job's laptop preset
    echo "== 3/4 generate: 8 snares, 8 hits halfway between kick and snare, 4 at the map's centre"
    rm -rf out/oneshots
    "${PYRUN[@]}" generate runs/oneshots --label snare --num 8 --out out/oneshots/snare
    "${PYRUN[@]}" generate runs/oneshots --mix kick=0.5,snare=0.5 --num 8 --out out/oneshots/blend
    "${PYRUN[@]}" generate runs/oneshots --at 0,0 --num 4 --out out/oneshots/centre
    echo "== 4/4 eval: per-label spectra, attack times and second onsets; the map"
    "${PYRUN[@]}" eval runs/oneshots --hits 8
    echo
    echo "outputs:"
    echo "  dataset:   $ROOT/data/oneshots"
    echo "  run:       $ROOT/runs/oneshots"
    echo "  generated: $ROOT/out/oneshots/{snare,blend,centre}/*.wav"
    echo "  eval:      $ROOT/runs/oneshots/eval.json, $ROOT/runs/oneshots/plots/{oneshots,map}.png"
    ;;
*)
    echo "unknown demo job: $JOB (choose: generate, oneshots)" >&2
    exit 2
    ;;
esac
