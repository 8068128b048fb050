"""The table that `eval` prints: one block per section of eval.json."""

from __future__ import annotations

import math
from pathlib import Path


def esr_verdict(esr: float) -> str:
    """An effect model's ESR in a player's words, on Neural Amp Modeler's scale."""
    if esr < 0.01:
        return "great (under 1%: hard to tell from the gear)"
    if esr < 0.035:
        return "not bad (under 3.5%: close; a trained ear hears a difference)"
    if esr < 0.10:
        return "audibly different (3.5-10%): train longer"
    return ("poor (over 10%): clearly not the gear yet; train longer, and check the recording "
            "(level, noise, latency)")


def use_it(model_config=None) -> str:
    """Where a finished effect goes: a plugin's format, or (for knob models, which NAM's
    formats cannot hold) `generate` with the knobs, or AIDA-X for the LSTM's."""
    from audiornn import streams

    knobs = streams.knobs(model_config.streams) if model_config is not None else []
    if not knobs:
        return "export it (python -m audiornn export RUN --format nam --out FILE)"
    name = knobs[0].name
    if model_config.core == "flat":
        return f"export it (python -m audiornn export RUN --format aidax --out FILE: {name} is a knob)"
    return (f"apply it (python -m audiornn generate RUN --input FILE --knob {name}=V --out OUT); "
            "plugins take knob models from --core flat only (AIDA-X), NAM none")


def next_step(esr, minutes=None, model_config=None, final=None, rings=None) -> str:
    """A plain next step from the ESR per epoch (validation where there is one) and the
    training minutes at each epoch's end (history.csv's `minutes`; None for older runs);
    model_config: the run's, for where a good model goes (`use_it`); final: the ESR the
    verdict gave (the whole validation segments'), where it is known; rings: the share of
    the gear's response that comes late (`data --pair`'s), for a run without --ir."""
    esr = [float(e) for e in esr if e is not None and math.isfinite(float(e))]
    if not esr:
        return "train (no ESR recorded yet)"
    best = min(esr) if final is None else final
    if best < 0.01:
        return "none needed: " + use_it(model_config)
    from audiornn.data.capture import RING_AFTER_S, RING_WARN

    if rings is not None and rings > RING_WARN:
        return (f"train with --ir 1.5: the gear rings ({rings:.0%} of its response "
                f"to a click comes over {RING_AFTER_S:g} s late), longer than the network hears")
    if len(esr) < 2:
        return "train longer (--resume --max-minutes N): one epoch says little"
    before = min(esr[:-1])
    fall = max(0.0, (before - esr[-1]) / before)  # the last epoch's improvement, relative
    per = "epoch"
    if minutes is not None and len(minutes) == len(esr) and minutes[-1] > minutes[-2]:
        fall, per = fall / (minutes[-1] - minutes[-2]), "minute"
    if fall >= 0.01:
        return (f"train longer (--resume --max-minutes N): the ESR was still falling "
                f"{fall:.0%} per {per}")
    return ("the ESR has stopped falling: a larger model (--core wavenet --shape lite or "
            "standard; --core flat --units 64), or check the recording (level, noise, latency)")


def table(result: dict) -> str:
    """eval.json as the table `eval` prints, one block per section it has."""
    lines = _curves(result.get("curves"))
    for h in result.get("heldout", []):
        lines += _heldout(h)
    if result.get("generated"):
        lines += _generated(result["generated"])
    if result.get("oneshots"):
        lines += _oneshots(result["oneshots"])
    if result.get("map"):
        lines += _map(result["map"])
    if result.get("effect"):
        lines += _effect(result["effect"])
    for what, why in result.get("skipped", {}).items():
        lines.append(f"skipped {what}: {why}")
    if result.get("plots"):
        lines.append("plots: " + ", ".join(result["plots"]))
    return "\n".join(lines)


def _curves(c: dict | None) -> list[str]:
    if c and "best_esr" in c:
        which = "validation" if c["monitor"] == "val_esr" else "training"
        return [f"curves: {c['epochs']} epochs, best {which} ESR {c['best_esr']:.2%} at epoch "
                f"{c['best_epoch']}: {esr_verdict(c['best_esr'])}",
                *([f"  next step: {c['next_step']}"] if c.get("next_step") else [])]
    if c:
        return [f"curves: {c['epochs']} epochs, best {c['monitor'].replace('_', ' ')} "
                f"{c['best_bits']:.3f} bits/sample at epoch {c['best_epoch']}"]
    return []


def _heldout(h: dict) -> list[str]:
    how = (f"in pieces of {h['split_seconds']:g} s" if h.get("split_seconds")
           else "state carried across each file")
    lines = ["", f"held-out: {h['name']}, {h['seconds']:.1f} s ({h['samples']:,} samples), "
                 f"scored at {h['scoring_x_realtime']:.1f}x real time ({how})",
             f"  {'predictor':<28}{'bits/sample':>12}{'top-1 acc.':>12}"]
    rows = [("model", h["model"])]
    if "unigram" in h:
        rows += [("unigram (train histogram)", h["unigram"]),
                 (f"LPC-{h['lpc']['order']} + Laplace", h["lpc"])]
    for name, v in rows:
        lines.append(f"  {name:<28}{v['bits']:>12.3f}{v['accuracy']:>12.3f}")
    return lines


#: The model's clip this many dB under the real audio has sunk into its quiet codes (the
#: quiet trap); hotter sampling lifted such a speech model from 10% to 66% of frames at
#: the voice's level (docs/benchmarks.md, "Sampling hotter").
QUIET_DB = 6.0
HOTTER = 1.1


def quiet_trap(g: dict) -> str:
    """A next step when the model's own clip ("generated", not a --compare file) sits
    QUIET_DB or more under the real audio: sample hotter than the temperature it used."""
    clip, real = g["clips"].get("generated"), g.get("real")
    if not clip or not real or clip["rms_dbfs"] > real["rms_dbfs"] - QUIET_DB:
        return ""
    hotter = max(HOTTER, round(g.get("temperature", 1.0) + 0.1, 2))
    return (f"the generated audio sits {real['rms_dbfs'] - clip['rms_dbfs']:.0f} dB under the "
            f"real audio's level: the model sank into its quiet codes; sample hotter "
            f"(generate or eval --generate with --temperature {hotter:g}; the page's "
            f"temperature field)")


def _generated(g: dict) -> list[str]:
    lines = ["", f"  {'audio':<24}{'spec. dist. dB':>15}{'silent':>8}{'stuck':>7}{'level ok':>10}"
                 f"{'voiced':>8}{'flatness':>10}{'< 40 Hz dBFS':>14}"]
    rows = list(g["clips"].items())
    if "real" in g:
        rows.append(("real (held-out)", g["real"]))
    for name, v in rows:
        d = v.get("spectral_distance_db")
        level = v.get("level_match")
        lines.append(f"  {name[:23]:<24}{'-' if d is None else f'{d:.1f}':>15}"
                     f"{v['silent_fraction']:>8.0%}{v.get('stuck_silence_fraction', 0):>7.0%}"
                     f"{'-' if level is None else f'{level:.0%}':>10}"
                     f"{v.get('voiced_fraction', 0):>8.0%}{v['flatness']:>10.3f}"
                     f"{v.get('below_40hz_dbfs', float('nan')):>14.1f}")
    if "real" in g:
        lines.append("  (silent: frames below -60 dBFS; stuck: time in silences of 0.5 s or more; "
                     "level ok: frames within 10 dB of the real audio's median active level; "
                     "voiced: active frames periodic at 60-1000 Hz once whitened, which "
                     "coloured noise is not; < 40 Hz: the rumble band's level)")
    if hint := quiet_trap(g):
        lines.append(f"  next step: {hint}")
    return lines


def _oneshots(hits: dict) -> list[str]:
    lines = ["", f"  {'label':<10}{'hits':>10}{'spec. dist. dB':>16}{'centroid Hz':>18}"
                 f"{'attack err.':>13}{'<= 5 ms':>9}{'2nd onset':>22}",
             f"  {'':<10}{'real/gen':>10}{'':>16}{'real / gen':>18}{'median ms':>13}"
             f"{'':>9}{'real / model / gated':>22}"]
    for name, v in hits.items():
        lines.append(f"  {name:<10}{v['real_hits']:>5}/{v['generated_hits']:<4}"
                     f"{v['spectral_distance_db']:>16.1f}"
                     f"{v['centroid_hz_real']:>9.0f} / {v['centroid_hz_generated']:<6.0f}"
                     f"{v['attack_error_ms_median']:>13.1f}{v['attack_within_5ms']:>9.0%}"
                     f"{v.get('second_onsets_real', 0):>8.0%} / {v.get('second_onsets', 0):>4.0%}"
                     f" / {v.get('second_onsets_gated', v.get('second_onsets', 0)):<5.0%}")
    gate = next((v.get("gate_db") for v in hits.values() if isinstance(v, dict)), None)
    lines.append("  (2nd onset: hits whose energy rises > 12 dB over the decaying envelope "
                 "after the attack; model: as sampled; gated: as generate writes them, ended "
                 f"once {gate or 0:g} dB down)")
    return lines


def _map(m: dict) -> list[str]:
    return ["", f"map: {m['hits']} training hits in {m['dim']} dimensions (radius "
                f"{m['radius']:.3f}); hits generated at a training hit's point that are "
                f"closer to it than to every other label's average: "
                f"{m['closer_to_own_hit']:.0%} ("
                + ", ".join(f"{k} {v:.0%}" for k, v in m["closer_to_own_hit_by_label"].items())
                + ")"]


def _effect(e: dict) -> list[str]:
    lines = ["", f"effect: {Path(e['input']).name} -> {Path(e['target']).name}, "
                 f"{e['seconds']:.1f} s, applied at {e['apply_x_realtime']:.1f}x real time "
                 f"({e['decode']}); target latency {e['target_latency']:+d} samples removed "
                 f"({e.get('latency_from', 'estimated')})",
             f"  {'output':<28}{'ESR':>10}{'ESR (pre-emph.)':>17}{'SNR dB':>9}"]
    for name, key in (("model", "model"), ("do nothing (output = input)", "do_nothing"),
                      ("dry, gain-matched", "dry_gain_matched")):
        v = e[key]
        lines.append(f"  {name:<28}{v['esr']:>10.2%}{v['esr_preemphasis']:>17.2%}{v['snr_db']:>9.1f}")
    lines.append(f"  verdict: {esr_verdict(e['model']['esr'])}")
    return lines
