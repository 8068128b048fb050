"""The page that `python -m audiornn serve` serves: plain HTML and JavaScript, no build step."""

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>audiornn</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 14px 24px; }
  header h1 { font-size: 20px; margin: 0; display: inline; }
  header span { color: #aab3c5; margin-left: 12px; }
  main { display: flex; gap: 24px; padding: 24px; flex-wrap: wrap; }
  section { background: #fff; border-radius: 8px; padding: 18px 20px; box-shadow: 0 1px 3px #0002; }
  #controls { width: 340px; }
  #results { flex: 1; min-width: 380px; }
  label { display: block; margin: 10px 0 4px; font-weight: 600; font-size: 13px; }
  input, select { font: inherit; width: 100%; box-sizing: border-box; padding: 5px 7px; }
  input[type=range] { padding: 0; }
  .row { display: flex; gap: 10px; } .row > div { flex: 1; }
  button { margin-top: 16px; width: 100%; padding: 9px; font: inherit; font-weight: 700;
           background: #2a6fdb; color: #fff; border: 0; border-radius: 6px; cursor: pointer; }
  button:disabled { background: #9db5df; cursor: default; }
  progress { width: 100%; margin-top: 12px; }
  #status { min-height: 1.4em; font-size: 13px; color: #4a5468; }
  .error { color: #b3261e !important; }
  .result { border-top: 1px solid #e3e6ec; padding: 12px 0; }
  .result img { width: 100%; max-width: 620px; display: block; margin: 6px 0; }
  .result audio { width: 100%; max-width: 620px; display: block; }
  .result a { display: inline-block; margin-top: 4px; font-size: 13px; }
  .meta { font-size: 12px; color: #6b7385; }
  .hidden { display: none; }
  #blendrow span { font-size: 12px; color: #6b7385; }
  #map { width: 300px; height: 300px; border: 1px solid #d5d9e2; border-radius: 6px; cursor: crosshair;
         background: #fbfcfd; display: block; }
  #maplegend span { display: inline-block; margin-right: 10px; }
  body.dragging #map { outline: 3px dashed #2a6fdb; }
</style>
</head>
<body>
<header><h1>audiornn</h1><span>learned audio, one sample at a time</span></header>
<main>
<section id="controls">
  <label for="run">Model</label>
  <select id="run"></select>
  <div class="meta" id="runinfo"></div>

  <div id="gen-controls">
    <label for="seconds">Seconds</label>
    <input id="seconds" type="number" min="0.1" step="0.5" value="4">
    <label for="prime">Prime with your audio (optional)</label>
    <input id="prime" type="file" accept="audio/*">
  </div>

  <div id="fx-controls" class="hidden">
    <label for="dry">Dry audio file</label>
    <input id="dry" type="file" accept="audio/*">
    <div id="decoderow">
    <label for="decode">Decoding</label>
    <select id="decode">
      <option value="argmax" selected>argmax (most likely)</option>
      <option value="mean">mean (expected value)</option>
      <option value="sample">sample</option>
    </select>
    </div>
    <div id="knobs"></div>
  </div>

  <div id="shot-controls" class="hidden">
    <div id="maprow" class="hidden">
      <label for="map">Map of hits: click anywhere to make a hit there; drop a WAV on the page to place it</label>
      <canvas id="map" width="300" height="300"></canvas>
      <div class="meta" id="maplegend"></div>
    </div>
    <label for="mode">Sound</label>
    <select id="mode"><option value="label">one class</option><option value="blend">blend two classes</option></select>
    <div id="labelrow"><label for="label">Class</label><select id="label"></select></div>
    <div id="blendrow" class="hidden">
      <div class="row"><div><label for="labela">From</label><select id="labela"></select></div>
      <div><label for="labelb">To</label><select id="labelb"></select></div></div>
      <label for="blend">Blend <span id="blendval">50%</span></label>
      <input id="blend" type="range" min="0" max="100" value="50">
    </div>
    <label for="count">Count</label>
    <input id="count" type="number" min="1" value="4">
    <label for="shotprime">Start from your own hit (optional)</label>
    <input id="shotprime" type="file" accept="audio/*">
  </div>

  <div class="row" id="common">
    <div><label for="temperature">Temperature</label>
      <input id="temperature" type="number" min="0.05" max="10" step="0.05" value="1"></div>
    <div><label for="seed">Seed</label><input id="seed" type="number" min="0" value="0"></div>
  </div>

  <button id="go">Generate</button>
  <progress id="progress" max="1" value="0" class="hidden"></progress>
  <div id="status"></div>
</section>

<section id="results">
  <h3 style="margin-top:0">Results</h3>
  <div id="list"><p class="meta" id="empty">Nothing yet: pick a model and press Generate.</p></div>
</section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let runs = [], limits = {}, marks = [];
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

// The one-shot map: the training hits as dots (by label), clicks and placed hits as marks.
function mapBox(m) { const [lo, hi] = m.bounds; return {x0: lo[0], x1: hi[0], y0: lo[1], y1: hi[1]}; }
function toPixel(m, xy) {
  const b = mapBox(m), c = $("map");
  return [(xy[0] - b.x0) / (b.x1 - b.x0) * c.width, (b.y1 - xy[1]) / (b.y1 - b.y0) * c.height];
}
function toMap(m, px, py) {
  const b = mapBox(m), c = $("map");
  return [b.x0 + px / c.width * (b.x1 - b.x0), b.y1 - py / c.height * (b.y1 - b.y0)];
}
function drawMap() {
  const r = current(); if (!r || !r.map) return;
  const m = r.map, c = $("map"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const labels = m.labels.length ? m.labels : [null];
  for (const p of m.points) {
    const [x, y] = toPixel(m, p.xy); g.beginPath(); g.arc(x, y, 4.5, 0, 2 * Math.PI);
    g.fillStyle = COLORS[Math.max(0, labels.indexOf(p.label)) % COLORS.length]; g.fill();
    g.strokeStyle = "#0008"; g.stroke();
  }
  for (const k of marks) {
    const [x, y] = toPixel(m, k.xy); g.strokeStyle = k.placed ? "#b3261e" : "#1d2330"; g.lineWidth = 2;
    g.beginPath(); g.moveTo(x - 6, y - 6); g.lineTo(x + 6, y + 6); g.moveTo(x + 6, y - 6); g.lineTo(x - 6, y + 6);
    g.stroke(); g.lineWidth = 1;
    if (k.placed) { g.fillStyle = "#b3261e"; g.font = "12px system-ui"; g.fillText(k.name, x + 8, y - 6); }
  }
  $("maplegend").innerHTML = labels.filter((l) => l).map((l, i) =>
    `<span style="color:${COLORS[i % COLORS.length]}">● ${l}</span>`).join("") +
    `<span>✕ your clicks</span><span style="color:#b3261e">✕ dropped hits</span>`;
}

function current() { return runs.find((r) => r.id === $("run").value); }

function fillLabels(sel, labels, pick) {
  sel.innerHTML = "";
  for (const l of labels) { const o = document.createElement("option"); o.value = o.textContent = l; sel.appendChild(o); }
  if (pick !== undefined && labels.length > pick) sel.selectedIndex = pick;
}

function showControls() {
  const r = current(); if (!r) return;
  const f = r.form;  // the job's web form, declared by the job (audiornn/jobs/)
  for (const p of ["gen", "fx", "shot"]) $(`${p}-controls`).classList.toggle("hidden", f.panel !== p);
  $("go").textContent = f.button;
  $("runinfo").textContent = `${f.what} at ${r.sample_rate} Hz` + (r.labels.length ? ` · classes: ${r.labels.join(", ")}` : "");
  if (f.fields.includes("label")) {
    fillLabels($("label"), r.labels); fillLabels($("labela"), r.labels, 0); fillLabels($("labelb"), r.labels, 1);
    $("mode").disabled = r.labels.length < 2;
  }
  $("seconds").max = limits.max_seconds; $("count").max = limits.max_count;
  $("temperature").value = r.temperature;
  $("decoderow").classList.toggle("hidden", r.head === "regression");
  $("maprow").classList.toggle("hidden", !r.map); marks = []; drawMap();
  $("knobs").innerHTML = "";
  for (const k of r.knobs || []) {  // one slider per knob, over the recorded settings
    const lab = document.createElement("label"); const val = document.createElement("span");
    const s = document.createElement("input"); s.type = "range"; s.className = "knob"; s.dataset.name = k.name;
    const span = (k.max - k.min) || 1; s.min = k.min; s.max = k.max; s.step = span / 100; s.value = k.value;
    val.textContent = Number(k.value).toFixed(2); s.oninput = () => { val.textContent = Number(s.value).toFixed(2); };
    lab.append(`${k.name} `, val); $("knobs").append(lab, s);
  }
}

function status(text, isError) { $("status").textContent = text; $("status").classList.toggle("error", !!isError); }

async function load() {
  const res = await fetch("/api/runs"); const data = await res.json();
  runs = data.runs; limits = data.limits;
  for (const r of runs) { const o = document.createElement("option"); o.value = r.id; o.textContent = `${r.id} (${r.job})`; $("run").appendChild(o); }
  showControls();
}

function addResult(job, r, k) {
  $("empty")?.remove();
  const div = document.createElement("div"); div.className = "result";
  const p = job.params; const bits = [];
  if (p.seconds) bits.push(`${p.seconds} s`);
  if (p.label) bits.push(p.label);
  if (p.at) bits.push(`at (${p.at.map((v) => v.toFixed(3)).join(", ")})`);
  if (p.placed) bits.push(`like your hit, placed at (${p.placed.xy.map((v) => v.toFixed(3)).join(", ")})`);
  if (p.mix) bits.push(Object.entries(p.mix).map(([l, w]) => `${l} ${Math.round(w * 100)}%`).join(" + "));
  if (p.decode) bits.push(`decode ${p.decode}`);
  if (p.knobs) bits.push(Object.entries(p.knobs).map(([n, v]) => `${n} ${Number(v).toFixed(2)}`).join(" · "));
  bits.push(`temperature ${p.temperature}`, `seed ${p.seed}`);
  div.innerHTML = `<div><b>${job.run}</b> #${k + 1} <span class="meta">${bits.join(" · ")}</span></div>`;
  const img = document.createElement("img"); img.src = r.png; img.alt = "waveform";
  const au = document.createElement("audio"); au.controls = true; au.preload = "auto"; au.src = r.wav;
  const a = document.createElement("a"); a.href = r.wav; a.textContent = "download WAV";
  a.download = `${job.run}-${job.id.slice(0, 6)}-${String(k).padStart(2, "0")}.wav`;
  div.append(img, au, a);
  $("list").prepend(div);
}

async function runJob(r, q, file, play) {
  $("go").disabled = true; $("progress").classList.remove("hidden"); $("progress").value = 0; status("Sending…");
  try {
    const res = await fetch(`/api/runs/${encodeURIComponent(r.id)}/jobs?${q}`, {method: "POST", body: file});
    let job = await res.json();
    if (!res.ok) throw new Error(job.error || res.statusText);
    while (job.state === "queued" || job.state === "running") {
      status(job.state === "queued" ? "Waiting for the model…" : `Working… ${Math.round(job.progress * 100)}%`);
      $("progress").value = job.progress;
      await new Promise((ok) => setTimeout(ok, 300));
      const s = await fetch(`/api/jobs/${job.id}`); job = await s.json();
      if (!s.ok) throw new Error(job.error || s.statusText);
    }
    if (job.state === "error") throw new Error(job.error);
    $("progress").value = 1;
    job.results.forEach((res, k) => addResult(job, res, k));
    status(`Done: ${job.results.length} file${job.results.length > 1 ? "s" : ""}.`);
    if (play) document.querySelector(".result audio")?.play().catch(() => {});
    return job;
  } catch (e) { status(String(e.message || e), true); return null; }
  finally { $("go").disabled = false; setTimeout(() => $("progress").classList.add("hidden"), 600); }
}

function baseQuery() { return new URLSearchParams({temperature: $("temperature").value, seed: $("seed").value}); }

async function go() {
  const r = current(); if (!r) return;
  const q = baseQuery();
  const f = r.form;
  for (const name of f.fields) if (name !== "label" && name !== "mix") q.set(name, $(name).value);
  if (f.fields.includes("label")) {
    if ($("mode").value === "blend") {
      const b = $("blend").value / 100; const la = $("labela").value, lb = $("labelb").value;
      q.set("mix", la === lb ? `${la}=1` : `${la}=${(1 - b).toFixed(3)},${lb}=${b.toFixed(3)}`);
    } else { q.set("label", $("label").value); }
  }
  for (const s of document.querySelectorAll("#knobs .knob")) q.set(`knob.${s.dataset.name}`, s.value);
  const file = f.upload ? ($(f.upload).files[0] || null) : null;
  if (f.upload_required && !file) { status("Choose an audio file first.", true); return; }
  if (file && file.size > limits.max_upload_mb * 1048576) { status(`The file is over the ${limits.max_upload_mb} MB limit.`, true); return; }
  await runJob(r, q, file, false);
}

// A click on the map: one hit at that point, played when it is ready.
$("map").addEventListener("click", (e) => {
  const r = current(); if (!r || !r.map || $("go").disabled) return;
  const c = $("map"), box = c.getBoundingClientRect();
  const xy = toMap(r.map, (e.clientX - box.left) * c.width / box.width, (e.clientY - box.top) * c.height / box.height);
  marks.push({xy}); drawMap();
  const q = baseQuery(); q.set("at", xy.map((v) => v.toFixed(5)).join(",")); q.set("count", "1");
  runJob(r, q, null, true);
});

// A WAV dropped anywhere on the page: placed on the map, and its variations made.
document.addEventListener("dragover", (e) => {
  if (current()?.map) { e.preventDefault(); document.body.classList.add("dragging"); }
});
document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
document.addEventListener("drop", async (e) => {
  const r = current(); document.body.classList.remove("dragging");
  if (!r || !r.map) return;
  e.preventDefault();
  const file = e.dataTransfer.files[0]; if (!file) return;
  if (file.size > limits.max_upload_mb * 1048576) { status(`The file is over the ${limits.max_upload_mb} MB limit.`, true); return; }
  const q = baseQuery(); q.set("like", "1"); q.set("count", $("count").value);
  status(`Placing ${file.name} on the map…`);
  const job = await runJob(r, q, file, true);
  if (job && job.params.placed) {
    marks.push({xy: job.params.placed.xy, placed: true, name: file.name}); drawMap();
    status(`${file.name}: placed near ${job.params.placed.nearest}; ${job.results.length} variations.`);
  }
});

$("run").addEventListener("change", showControls);
$("mode").addEventListener("change", () => {
  const blend = $("mode").value === "blend";
  $("blendrow").classList.toggle("hidden", !blend); $("labelrow").classList.toggle("hidden", blend);
});
$("blend").addEventListener("input", () => { $("blendval").textContent = `${$("blend").value}%`; });
$("go").addEventListener("click", go);
load().catch((e) => status(`Cannot reach the server: ${e}`, true));
</script>
</body>
</html>
"""
