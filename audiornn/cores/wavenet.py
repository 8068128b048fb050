"""The WaveNet core: causal dilated convolutions in NAM's "A1" layout, for effects.

It trains in parallel over time (every sample of a window at once), where a
recurrent layer steps sample by sample, and it is the architecture most
Neural Amp Modeler users load. The layout follows NAM's WaveNet, so a run
exports to a `.nam` file weight for weight (export.py):

  per layer array a (two in every shape):
    z = rechannel(y)                         1x1 conv, no bias (y: the dry
                                             audio, then the last array's z)
    per layer l with dilation d:
      p = tanh(conv_d(z) + mixer(c))         kernel-3 causal conv with bias;
                                             mixer: 1x1 on the condition c
                                             (the dry sample, then the knobs)
      with knobs k (knob_gain, new runs' default): p = tanh((...) * gain(k)),
                                             gain: 1x1 on the knobs with bias,
                                             starting at 1 (FiLM): a drive knob
                                             scales what the tanh sees
      z = z + out(p)                         1x1 conv with bias (residual)
      head = head + p                        the skip sum
    head = head_rechannel(head)              1x1, no bias (not in the last array:
                                             the regression head's Dense(1) is it)

The first array's head sum starts from zero, the next one's from the head
before it. `SHAPES` holds NAM's presets. Before the first sample the
convolutions see silence, as a plugin starting from silence does; training
windows carry the receptive field as burn-in, so every scored sample sees
real history.

`Loop` is the streaming math: each dilated convolution keeps its last
(kernel - 1) x dilation inputs between blocks, so a stream cut into blocks of
any size gives the samples of the whole signal at once.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

from audiornn.cores.base import CoreType, concat, features
from audiornn.errors import AudioRNNError

KERNEL = 3
_LITE_A = (1, 2, 4, 8, 16, 32, 64)
_LITE_B = (128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_STANDARD = tuple(2 ** i for i in range(10))
#: NAM's presets: per layer array, (channels, head size, dilations).
SHAPES = {
    "nano": ((4, 2, _LITE_A), (2, 1, _LITE_B)),
    "feather": ((8, 4, _LITE_A), (4, 1, _LITE_B)),
    "lite": ((12, 6, _LITE_A), (6, 1, _LITE_B)),
    "standard": ((16, 8, _STANDARD), (8, 1, _STANDARD)),
}
#: NAM's head scale: the skip sum starts small, so training starts near silence, not at
#: an ESR of hundreds. The Keras model applies it before the regression head's Dense(1);
#: exports and `Loop` fold it into that layer's kernel.
HEAD_SCALE = 0.02


def init() -> keras.initializers.Initializer:
    """The convolutions' starting weights: uniform within +-1/sqrt(fan in), PyTorch's
    default, which NAM's trainer uses (Keras' Glorot starts the dilated convolutions 1.7x
    larger). A fresh one per layer: an unseeded Keras initializer draws its seed once, so
    one shared instance would give every layer of a shape the same weights."""
    return keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")


#: Scored samples per training window after the receptive field's burn-in.
SCORED = 4096


def receptive_field(shape: str) -> int:
    """Samples of input each output sees (the current one included)."""
    return 1 + (KERNEL - 1) * sum(sum(d) for _, _, d in SHAPES[shape])


class WaveNet(CoreType):
    """Causal dilated convolutions (NAM's WaveNet): effects with the regression head."""

    name = "wavenet"

    @dataclasses.dataclass(frozen=True)
    class Options:
        shape: str = "feather"
        #: Knobs also scale each layer's pre-activation (FiLM); False in runs made before it.
        knob_gain: bool = False

    def validate(self, config) -> None:
        shape = self.options(config).shape
        if shape not in SHAPES:
            raise AudioRNNError(f"--shape must be one of {', '.join(SHAPES)}, got {shape!r}")
        if config.head != "regression" or config.feedback:
            raise AudioRNNError("--core wavenet maps a dry input to the wet output: effects with "
                                "--head regression")
        bad = [s.name for s in config.streams if s.per == "step" and not s.behaviour.float_input]
        if bad:
            raise AudioRNNError(f"--core wavenet takes the dry signal and per-pair knobs, not the "
                                f"per-step stream {bad[0]!r}")

    def train_defaults(self, config) -> dict:
        """Windows that carry the receptive field as burn-in, then SCORED samples; the plain
        ESR as the loss (no pre-emphasis): on real gear (a tube stage with a tone stack,
        5 CPU-minutes, scripts/bench_gear.py) held-out music went from 5.86% with the
        0.95 filter to 2.79%, the filter having played down the low band where music
        has its energy. Batches of 16 windows: on the same rig, 8 minutes on one core,
        0.65% on held-out music against 0.81% with 32."""
        field = receptive_field(self.options(config).shape)
        return {"burn_in": field - 1, "window": field - 1 + SCORED, "loss_preemphasis": 0.0,
                "batch_size": 16}

    def build(self, config, inputs, stateful=False):
        L = keras.layers
        def conv(*args, **kwargs):
            return L.Conv1D(*args, kernel_initializer=init(), **kwargs)

        dry = next(inputs[s.name] for s in config.streams if s.behaviour.float_input)
        parts = features(config.streams, inputs, dry)
        cond = concat(parts, "condition")
        knobs = [x for x, s in zip(parts, config.streams)
                 if s.behaviour.knob and self.options(config).knob_gain]
        knob = concat(knobs, "knob_features") if knobs else None
        arrays = SHAPES[self.options(config).shape]
        y, head = dry, None
        for a, (ch, head_size, dilations) in enumerate(arrays):
            last_array = a == len(arrays) - 1
            z = conv(ch, 1, use_bias=False, name=f"wn{a}_rechannel")(y)
            for i, d in enumerate(dilations):
                pre = L.Add(name=f"wn{a}_pre{i}")([
                    conv(ch, KERNEL, dilation_rate=d, padding="causal", name=f"wn{a}_conv{i}")(z),
                    conv(ch, 1, use_bias=False, name=f"wn{a}_mixer{i}")(cond)])
                if knob is not None:  # gain 1 + W k: a drive knob scales what the tanh sees
                    gain = L.Conv1D(ch, 1, kernel_initializer="zeros", bias_initializer="ones",
                                    name=f"wn{a}_gain{i}")(knob)
                    pre = L.Multiply(name=f"wn{a}_scaled{i}")([pre, gain])
                p = L.Activation("tanh", name=f"wn{a}_tanh{i}")(pre)
                head = p if head is None else L.Add(name=f"wn{a}_skip{i}")([head, p])
                if not (last_array and i == len(dilations) - 1):  # the last residual is unused
                    z = L.Add(name=f"wn{a}_res{i}")([z, conv(ch, 1, name=f"wn{a}_out{i}")(p)])
            if not last_array:
                head = conv(head_size, 1, use_bias=False, name=f"wn{a}_head")(head)
            y = z
        return L.Rescaling(HEAD_SCALE, name="wn_head_scale")(head)

    def step_core(self, model, config):
        raise AudioRNNError("--core wavenet is an effect core: apply it with generate --input")

    def effect_loop(self, model, config):
        return Loop(model, config)


def layer_weights(model, config) -> list[dict]:
    """The trained weights by layer array as numpy, in NAM's order (export.py reads them):
    per array {"rechannel", "layers": [{"conv", "conv_bias", "mixer", "gain", "gain_bias",
    "out", "out_bias", "dilation"}], "head"}; Keras' (kernel, in, out) layout. "gain" and
    "gain_bias" scale the pre-activation by the knobs (1 and no knob rows without them).
    The last array's head is the regression head's Dense(1) (kernel (ch, 1), times
    HEAD_SCALE, and bias); its unused last residual is zeros."""
    arrays = SHAPES[WaveNet().options(config).shape]
    out = []
    for a, (ch, _, dilations) in enumerate(arrays):
        layers = []
        for i, d in enumerate(dilations):
            conv, conv_bias = model.get_layer(f"wn{a}_conv{i}").get_weights()
            res = _weights_or(model, f"wn{a}_out{i}",
                              [np.zeros((1, ch, ch), np.float32), np.zeros(ch, np.float32)])
            mixer = model.get_layer(f"wn{a}_mixer{i}").get_weights()[0]
            gain = _weights_or(model, f"wn{a}_gain{i}", [
                np.zeros((1, mixer.shape[1] - 1, ch), np.float32), np.ones(ch, np.float32)])
            layers.append({"conv": conv, "conv_bias": conv_bias, "dilation": d, "mixer": mixer,
                           "gain": gain[0], "gain_bias": gain[1], "out": res[0], "out_bias": res[1]})
        last = a == len(arrays) - 1
        head = model.get_layer("head" if last else f"wn{a}_head").get_weights()
        kernel = head[0].reshape(1, ch, -1) * (HEAD_SCALE if last else 1.0)
        out.append({"rechannel": model.get_layer(f"wn{a}_rechannel").get_weights()[0],
                    "layers": layers, "head": kernel,
                    "head_bias": head[1] if last else None})
    return out


def _weights_or(model, name: str, default: list) -> list:
    """A layer's weights, or `default` where the model has no such layer."""
    return model.get_layer(name).get_weights() if any(x.name == name for x in model.layers) \
        else default


class Loop:
    """The streaming math (runtime.effect.Effect runs it): a block of dry samples and the
    convolutions' buffers in, the wet block and the new buffers out; `keras.ops`."""

    #: Streaming is as fast as pieces would be, and exact: Effect runs no pieces.
    exact_pieces = True

    def __init__(self, model, config):
        m = config.model
        self.skip = bool(m.skip)
        self.gained = any(x.name.startswith("wn") and "_gain" in x.name for x in model.layers)
        self.arrays = layer_weights(model, m)
        t = ops.convert_to_tensor
        for arr in self.arrays:
            arr["rechannel_t"] = t(arr["rechannel"][0])
            arr["head_t"] = t(arr["head"][0])
            for lay in arr["layers"]:
                lay["conv_t"], lay["out_t"] = t(lay["conv"]), t(lay["out"][0])
                lay["out_bias_t"], lay["dry_t"] = t(lay["out_bias"]), t(lay["mixer"][0, 0])

    def padded(self, n: int) -> int:
        """Blocks run at power-of-two lengths (one compiled shape per size class)."""
        return max(256, 1 << (int(n) - 1).bit_length())

    def zero_state(self, rows: int) -> tuple:
        return tuple(ops.zeros((rows, (KERNEL - 1) * lay["dilation"], lay["conv"].shape[1]))
                     for arr in self.arrays for lay in arr["layers"])

    def bias(self, knobs: np.ndarray) -> tuple:
        """Per layer, what the knobs fold to: (the conv bias plus the mixer's knob rows times
        the knob values, the pre-activation's gain)."""
        k = np.asarray(knobs, np.float32).reshape(-1)
        return tuple((lay["conv_bias"] + k @ lay["mixer"][0, 1:],
                      lay["gain_bias"] + k @ lay["gain"][0])
                     for arr in self.arrays for lay in arr["layers"])

    def run(self, x, start, n, bias, state):
        """x: (rows, steps) padded dry samples, the first n real (start: unused, every row
        starts where its buffers left off). Returns (y (rows, steps), new buffers)."""
        c = ops.expand_dims(x, -1)
        y, head, new, k = c, None, [], 0
        for arr in self.arrays:
            z = ops.matmul(y, arr["rechannel_t"])
            for lay in arr["layers"]:
                full = ops.concatenate([state[k], z], axis=1)
                size = ops.shape(state[k])[1]
                new.append(ops.slice(full, (0, n, 0), (ops.shape(full)[0], size, ops.shape(full)[2])))
                pre = ops.conv(full, lay["conv_t"], padding="valid", dilation_rate=lay["dilation"])
                shift, gain = bias[k]
                pre = pre + shift + c * lay["dry_t"]
                p = ops.tanh(pre * gain if self.gained else pre)
                z = z + ops.matmul(p, lay["out_t"]) + lay["out_bias_t"]
                head = p if head is None else head + p
                k += 1
            head = ops.matmul(head, arr["head_t"])
            y = z
        out = head[..., 0] + self.arrays[-1]["head_bias"][0]
        if self.skip:
            out = out + x
        return out, tuple(new)


CORE = WaveNet()
