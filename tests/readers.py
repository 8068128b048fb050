"""Independent readers of the exported formats, written from the formats' public definitions.

They share nothing with audiornn's model code: plain numpy, one sample at a time.

- RTNeural (AIDA-X) JSON: a list of layers; an LSTM layer's weights are the
  Keras kernel (in, 4H), recurrent kernel (H, 4H) and bias (4H), gates
  input, forget, cell, output; a GRU's are kernel (in, 3H), recurrent
  (H, 3H) and bias (2, 3H) (input and recurrent biases, "reset after"), gates
  update, reset, candidate; a dense layer's are kernel (in, out) and bias.
  `in_skip` 1 adds the first input to the output; gains are in dB.
- NAM `.nam`: for an LSTM, per layer a (4H, in + H) row-major matrix W over
  the vector [x, h], a bias b of 4H (gates i, f, g, o), then the initial h
  and c; after the layers, the head's H weights and one bias. For a WaveNet,
  per layer array: the rechannel 1x1 (channels, input_size, 1); per layer the
  dilated conv (channels, channels, kernel) and its bias, the input mixer
  (channels, condition_size, 1), the 1x1 (channels, channels, 1) and its bias;
  then the head rechannel (head_size, channels, 1) (and its bias with
  head_bias); after the arrays, head_scale. Weights are (out, in, kernel)
  row-major, tap 0 the oldest input; the condition is the input signal.
"""

from __future__ import annotations

import json

import numpy as np


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def run_rtneural(path, x, knobs=()):
    doc = json.loads(open(path).read())
    n_in = doc["in_shape"][-1]
    layers = doc["layers"]
    state = [None] * len(layers)
    g_in = 10 ** (doc.get("in_gain", 0.0) / 20)
    g_out = 10 ** (doc.get("out_gain", 0.0) / 20)
    out = np.zeros(len(x))
    for t, sample in enumerate(x):
        v = np.array([sample * g_in, *knobs], dtype=np.float64)
        assert v.size == n_in
        for k, layer in enumerate(layers):
            w = [np.asarray(a, np.float64) for a in layer["weights"]]
            units = layer["shape"][-1]
            if layer["type"] == "lstm":
                h, c = state[k] if state[k] is not None else (np.zeros(units), np.zeros(units))
                z = v @ w[0] + h @ w[1] + w[2]
                i, f, g, o = (z[j * units:(j + 1) * units] for j in range(4))
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o) * np.tanh(c)
                state[k] = (h, c)
                v = h
            elif layer["type"] == "gru":
                h = state[k] if state[k] is not None else np.zeros(units)
                xz = v @ w[0] + w[2][0]
                hz = h @ w[1] + w[2][1]
                z = _sigmoid(xz[:units] + hz[:units])
                r = _sigmoid(xz[units:2 * units] + hz[units:2 * units])
                cand = np.tanh(xz[2 * units:] + r * hz[2 * units:])
                h = z * h + (1 - z) * cand
                state[k] = h
                v = h
            elif layer["type"] == "dense":
                v = v @ w[0] + w[1]
            else:
                raise ValueError(layer["type"])
        y = v[0] + (sample * g_in if doc.get("in_skip") else 0.0)
        out[t] = y * g_out
    return out


def run_nam(path, x):
    doc = json.loads(open(path).read())
    assert doc["architecture"] == "LSTM"
    cfg = doc["config"]
    H, n_layers, n_in = cfg["hidden_size"], cfg["num_layers"], cfg["input_size"]
    w = np.asarray(doc["weights"], np.float64)
    pos = 0

    def take(n):
        nonlocal pos
        pos += n
        return w[pos - n:pos]

    cells = []
    for k in range(n_layers):
        size = n_in if k == 0 else H
        W = take(4 * H * (size + H)).reshape(4 * H, size + H)
        b = take(4 * H)
        h0, c0 = take(H), take(H)
        cells.append([W, b, h0.copy(), c0.copy()])
    head_w, head_b = take(H), take(1)[0]
    assert pos == len(w)
    out = np.zeros(len(x))
    for t, sample in enumerate(x):
        v = np.array([sample])
        for cell in cells:
            W, b, h, c = cell
            z = W @ np.concatenate([v, h]) + b
            i, f, g, o = (z[j * H:(j + 1) * H] for j in range(4))
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            cell[2], cell[3] = h, c
            v = h
        out[t] = head_w @ v + head_b
    return out


def run_nam_wavenet(path, x):
    """A NAM WaveNet over the whole signal from silence (zero history), in float64."""
    doc = json.loads(open(path).read())
    assert doc["architecture"] == "WaveNet" and doc["config"]["head"] is None
    w = np.asarray(doc["weights"], np.float64)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        pos += n
        return w[pos - n:pos].reshape(shape)

    def conv(v, weight, dilation=1):  # v: (in, T); weight (out, in, K); causal, zero history
        k = weight.shape[2]
        pad = np.concatenate([np.zeros((v.shape[0], (k - 1) * dilation)), v], axis=1)
        out = np.zeros((weight.shape[0], v.shape[1]))
        for tap in range(k):
            start = tap * dilation
            out += weight[:, :, tap] @ pad[:, start:start + v.shape[1]]
        return out

    cond = np.asarray(x, np.float64)[None]
    y, head = cond, None
    for lc in doc["config"]["layers"]:
        ch, act = lc["channels"], {"Tanh": np.tanh}[lc["activation"]]
        assert not lc["gated"]
        z = conv(y, take(ch, lc["input_size"], 1))
        for d in lc["dilations"]:
            wc, bc = take(ch, ch, lc["kernel_size"]), take(ch)
            wm = take(ch, lc["condition_size"], 1)
            w1, b1 = take(ch, ch, 1), take(ch)
            p = act(conv(z, wc, d) + bc[:, None] + conv(cond, wm))
            z = z + conv(p, w1) + b1[:, None]
            head = p if head is None else head + p
        head = conv(head, take(lc["head_size"], ch, 1))
        if lc["head_bias"]:
            head = head + take(lc["head_size"])[:, None]
        y = z
    scale = take(1)[0]
    assert pos == len(w)
    return scale * head[0]
