// The teaching page: reads the controls, asks the WebAssembly build of lymphosim for the typical patient and a
// small cohort, and draws the answers with uPlot. No model logic lives here: every number comes from the library.
"use strict";

const DAYS_PER_MONTH = 30.4375;
const COLOURS = { ALC: "#000000", CD4: "#1f77b4", CD8: "#2ca02c", CD19: "#d62728", NK: "#9467bd" };
const DRUG_COLOURS = { alemtuzumab: "#e67800", cladribine: "#008080" };
// CTCAE grade 1-4 bands behind ALC (as in the command line's figures).
const GRADE_FILL = ["#fff7d6", "#ffe6bf", "#fccdbe", "#f0b4be"];
const CD4_LINE = 200;

const $ = (id) => document.getElementById(id);
const charts = {};
let lib = null;
let lastTypical = null;
let cohortTimer = null;
let cohortRuns = 0;

// ---------------------------------------------------------------------------------------------------------------
// Inputs

const sliders = {
  interval: { out: (v) => `${v} months` },
  weight: { out: (v) => `${v} kg` },
  age: { out: (v) => `${v} years` },
  thymic: { out: (v) => `× ${Number(v).toFixed(2)}` },
  lip: { out: (v) => `× ${Number(v).toFixed(2)}` },
  bover: { out: (v) => `× ${Number(v).toFixed(2)}` },
};
let defaults = null;

function regimen() {
  return document.querySelector('input[name="regimen"]:checked').value;
}

function inputs() {
  return {
    regimen: regimen(),
    interval_months: Number($("interval").value),
    weight_kg: Number($("weight").value),
    age_years: Number($("age").value),
    thymic_output: Number($("thymic").value),
    lip_strength: Number($("lip").value),
    b_overshoot: Number($("bover").value),
    years: 10,
    patients: defaults ? defaults.patients : 300,
    seed: defaults ? defaults.seed : 1,
  };
}

function showSliderValues() {
  for (const [id, s] of Object.entries(sliders)) {
    $(`${id}-out`).textContent = s.out($(id).value);
  }
  const seq = regimen() === "sequence";
  $("interval").disabled = !seq;
  $("interval").parentElement.classList.toggle("disabled", !seq);
}

function setInputs(v) {
  if (v.regimen) {
    document.querySelector(`input[name="regimen"][value="${v.regimen}"]`).checked = true;
  }
  const map = { interval_months: "interval", weight_kg: "weight", age_years: "age", thymic_output: "thymic",
    lip_strength: "lip", b_overshoot: "bover" };
  for (const [k, id] of Object.entries(map)) {
    if (k in v) $(id).value = v[k];
  }
  changed();
}

function reset() {
  setInputs(defaults);
}

// ---------------------------------------------------------------------------------------------------------------
// Drawing helpers (uPlot hooks)

function width(el) {
  return Math.max(320, el.clientWidth - 12);
}

function gradeBands(u) {
  if (!lastTypical) return;
  const { left, width: w } = u.bbox;
  const edges = [lastTypical.lln, 800, 500, 200, 0];
  const ctx = u.ctx;
  ctx.save();
  for (let g = 0; g < 4; g++) {
    const hi = Math.min(edges[g], u.scales.y.max);
    if (hi <= edges[g + 1]) continue;
    const yHi = u.valToPos(hi, "y", true);
    const yLo = u.valToPos(edges[g + 1], "y", true);
    ctx.fillStyle = GRADE_FILL[g];
    ctx.fillRect(left, yHi, w, yLo - yHi);
  }
  ctx.restore();
}

function cd4Line(u) {
  const y = u.valToPos(CD4_LINE, "y", true);
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = "#c81e1e";
  ctx.lineWidth = 2 * devicePixelRatio;
  ctx.setLineDash([8 * devicePixelRatio, 6 * devicePixelRatio]);
  ctx.beginPath();
  ctx.moveTo(u.bbox.left, y);
  ctx.lineTo(u.bbox.left + u.bbox.width, y);
  ctx.stroke();
  ctx.restore();
}

function doseTicks(u) {
  if (!lastTypical) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.lineWidth = 2 * devicePixelRatio;
  for (const [day, drug] of lastTypical.doses) {
    const x = u.valToPos(day / DAYS_PER_MONTH, "x", true);
    ctx.strokeStyle = DRUG_COLOURS[drug] || "#555";
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + 12 * devicePixelRatio);
    ctx.stroke();
  }
  ctx.restore();
}

const monthsAxis = { label: "months since the first dose", values: (u, vals) => vals.map((v) => v.toFixed(0)) };

function lineChart(id, title, series, yScale, hooks) {
  const el = $(id);
  const opts = {
    title,
    width: width(el),
    height: 260,
    scales: { x: { time: false }, y: yScale },
    series: [{ label: "month", value: (u, v) => (v == null ? "" : v.toFixed(1)) }].concat(series),
    axes: [monthsAxis, { label: "cells/µL", size: 60 }],
    hooks,
    cursor: { drag: { x: false, y: false } },
  };
  return new uPlot(opts, [[0], ...series.map(() => [null])], el);
}

function fanChart(id, title, colour, hooks, yScale) {
  const el = $(id);
  const faint = { stroke: "rgba(0,0,0,0)", points: { show: false } };
  const opts = {
    title,
    width: width(el),
    height: 240,
    scales: { x: { time: false }, y: yScale },
    series: [
      { label: "month", value: (u, v) => (v == null ? "" : v.toFixed(1)) },
      { label: "5 %", ...faint },
      { label: "25 %", ...faint },
      { label: "median", stroke: colour, width: 2 },
      { label: "75 %", ...faint },
      { label: "95 %", ...faint },
    ],
    bands: [
      { series: [5, 1], fill: hexAlpha(colour, 0.15) },
      { series: [4, 2], fill: hexAlpha(colour, 0.3) },
    ],
    axes: [monthsAxis, { label: "cells/µL", size: 60 }],
    hooks,
    cursor: { drag: { x: false, y: false } },
  };
  return new uPlot(opts, [[0], [null], [null], [null], [null], [null]], el);
}

function hexAlpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

function makeCharts() {
  const logY = { distr: 3, range: () => [1, 5000] };
  charts.alc = lineChart("chart-alc", "ALC (grade bands behind; dose marks on top)",
    [{ label: "ALC", stroke: COLOURS.ALC, width: 2, value: (u, v) => (v == null ? "" : v.toFixed(0)) }],
    { range: (u, min, max) => [0, Math.max(max * 1.1, 2000)] },
    { drawClear: [gradeBands], draw: [doseTicks] });
  charts.subsets = lineChart("chart-subsets", "Subsets (log scale; dashed: CD4 = 200 cells/µL)",
    ["CD4", "CD8", "CD19", "NK"].map((c) => ({
      label: c === "CD19" ? "CD19 (B cells)" : c,
      stroke: COLOURS[c],
      width: 2,
      value: (u, v) => (v == null ? "" : v.toFixed(0)),
    })),
    logY, { draw: [cd4Line, doseTicks] });
  charts.fanAlc = fanChart("chart-fan-alc", "Cohort ALC: median, 50 % and 90 % of patients", "#333333",
    { drawClear: [gradeBands] }, { range: (u, min, max) => [0, Math.max(max * 1.1, 2000)] });
  charts.fanCd4 = fanChart("chart-fan-cd4", "Cohort CD4: median, 50 % and 90 % of patients", COLOURS.CD4,
    { draw: [cd4Line] }, { range: (u, min, max) => [0, Math.max(max * 1.1, 1000)] });
  window.addEventListener("resize", () => {
    for (const [k, c] of Object.entries(charts)) {
      const id = { alc: "chart-alc", subsets: "chart-subsets", fanAlc: "chart-fan-alc", fanCd4: "chart-fan-cd4" }[k];
      c.setSize({ width: width($(id)), height: c.height });
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

function cells(v) {
  return v == null ? "—" : `${v.toFixed(1)} cells/µL`;
}

function pct(r) {
  if (!r || r.value == null) return "— (no patient reached the switch)";
  const p = (x) => (100 * x).toFixed(0);
  return `${p(r.value)} % (95 % CI ${p(r.ci95[0])}–${p(r.ci95[1])} %)`;
}

function setNumber(id, text, value) {
  const el = $(id);
  el.textContent = text;
  el.dataset.value = value == null ? "" : String(value);
}

function updateTypical() {
  const t = JSON.parse(lib.typical(JSON.stringify(inputs())));
  lastTypical = t;
  const months = t.days.map((d) => d / DAYS_PER_MONTH);
  const nadir = Object.fromEntries(t.nadir);
  setNumber("cd4-nadir", `${cells(nadir.CD4.value)} (day ${nadir.CD4.day.toFixed(0)})`, nadir.CD4.value);
  setNumber("alc-nadir", `${cells(nadir.ALC.value)} (day ${nadir.ALC.day.toFixed(0)})`, nadir.ALC.value);
  setNumber("worst-grade", String(t.worst_grade), t.worst_grade);
  setNumber("days-cd4", t.days_cd4_below_200.toFixed(0), t.days_cd4_below_200);
  const a = t.after_switch;
  $("after-switch-row").hidden = !a;
  if (a) {
    $("switch-day").textContent = a.day.toFixed(0);
    setNumber("cd4-nadir-switch", `${cells(a.cd4_nadir.value)} (day ${a.cd4_nadir.day.toFixed(0)})`, a.cd4_nadir.value);
    setNumber("worst-grade-switch", String(a.worst_grade), a.worst_grade);
  }
  charts.alc.setData([months, t.alc]);
  const clamp = (xs) => xs.map((v) => Math.max(v, 1));
  charts.subsets.setData([months, clamp(t.cd4), clamp(t.cd8), clamp(t.cd19), clamp(t.nk)]);
}

function runCohort() {
  const started = performance.now();
  const c = JSON.parse(lib.cohort(JSON.stringify(inputs())));
  const ms = performance.now() - started;
  setNumber("p-grade3", pct(c.p_grade_ge3), c.p_grade_ge3.value);
  setNumber("p-cd4", pct(c.p_cd4_below_200), c.p_cd4_below_200.value);
  $("cohort-size").textContent = String(c.patients + c.excluded + c.failed);
  const months = c.days.map((d) => d / DAYS_PER_MONTH);
  const cols = (qs) => [0, 1, 2, 3, 4].map((k) => qs.map((q) => q[k]));
  charts.fanAlc.setData([months, ...cols(c.alc)]);
  charts.fanCd4.setData([months, ...cols(c.cd4)]);
  const extra = [];
  if (c.excluded) extra.push(`${c.excluded} excluded by the regimen (cladribine needs 40 kg or more)`);
  if (c.failed) extra.push(`${c.failed} failed to simulate`);
  $("status").textContent =
    `${c.patients} patients simulated in ${ms.toFixed(0)} ms in this browser` + (extra.length ? `; ${extra.join("; ")}` : "") + ".";
  cohortRuns += 1;
  document.body.dataset.cohortRuns = String(cohortRuns);
}

function guarded(f) {
  try {
    f();
  } catch (e) {
    $("status").textContent = `error: ${e.message || e}`;
    throw e;
  }
}

function changed() {
  showSliderValues();
  guarded(updateTypical);
  clearTimeout(cohortTimer);
  cohortTimer = setTimeout(() => guarded(runCohort), 120);
}

// ---------------------------------------------------------------------------------------------------------------
// Lessons: each sets the controls and says what to look at.

const LESSONS = [
  {
    title: "1. Why B cells come back first — and overshoot",
    set: { regimen: "alemtuzumab-label", thymic_output: 1, lip_strength: 1, b_overshoot: 1 },
    html: `<p>Alemtuzumab removes almost every lymphocyte carrying CD52 within days. In the <b>subsets</b> chart,
      follow the red line (CD19, B cells): it is back at its baseline within months and then rises <i>above</i>
      it. B cells are rebuilt from marrow precursors that alemtuzumab does not touch, and the lymphopenia signal
      (think BAFF) pushes their production up while the pool is empty.</p>
      <p>Now follow the blue line (CD4 T cells): it stays low for years. New naive T cells need the thymus, which
      makes few in adults; most of the early recovery is memory cells dividing.</p>
      <p>Try it: drag <b>B-cell overshoot</b> to 0 — the overshoot disappears and B cells only return to baseline.
      Drag <b>thymic output</b> up to 3 — CD4 recovers faster, years later.</p>`,
  },
  {
    title: "2. A normal ALC can hide a low CD4",
    set: { regimen: "alemtuzumab-label", thymic_output: 1, lip_strength: 1, b_overshoot: 1 },
    html: `<p>The label and most clinics follow the <b>absolute lymphocyte count</b> (ALC). In the ALC chart, find
      the months after each course when the black line climbs back through the coloured grade bands towards
      normal.</p>
      <p>At the same months, the subsets chart shows CD4 still far below its baseline — often near the dashed
      200 cells/µL line. ALC is a sum: the overshooting B cells (and NK cells) fill it up while CD4 T cells are
      still missing. A "normal" ALC says little about CD4.</p>
      <p>Try it: drag <b>B-cell overshoot</b> to 0. Without the overshoot, ALC stays low for longer — the ALC was
      recovering on the B cells' account.</p>`,
  },
  {
    title: "3. Cladribine after alemtuzumab: at 6 or at 24 months?",
    set: { regimen: "sequence", interval_months: 6, thymic_output: 1, lip_strength: 1, b_overshoot: 1 },
    html: `<p>A patient still active after alemtuzumab may switch to cladribine tablets. Cladribine depletes
      lymphocytes again — T cells included — on top of whatever alemtuzumab left behind.</p>
      <p>The controls are set to a switch <b>6 months</b> after the last alemtuzumab infusion. Note the cohort's
      P(grade ≥ 3) and P(CD4 &lt; 200), and the typical patient's CD4 nadir after the switch. Then press
      <button type="button" data-interval="24">switch at 24 months</button> and compare; press
      <button type="button" data-interval="6">back to 6 months</button> to go back.</p>
      <p>Waiting lets CD4 recover further before the second drug, so fewer patients should reach grade 3 and the
      CD4 nadir should be higher. Does the risk fall as low as with cladribine alone? Choose "cladribine tablets"
      to compare, and move the <b>switch interval</b> slider to see the whole curve.</p>`,
  },
  {
    title: "4. What the model cannot say",
    set: { regimen: "sequence", interval_months: 12, thymic_output: 1, lip_strength: 1, b_overshoot: 1 },
    html: `<p>Every line here is a <b>model</b>: equations whose parameters were fitted to published trial
      summaries (medians, spreads, fractions of patients). The model was then checked against published figures
      it never saw, and it misses several — most clearly, a 1990s series of patients who recovered about twice as
      slowly as the trial cohorts it was fitted to. Its answers are for learning and what-if questions.</p>
      <ul>
        <li>It says nothing about <b>one real patient</b>: the typical patient is an average, and the cohort is a
          population like the trials'.</li>
        <li>It does not model <b>infections</b>, autoimmunity, or MS activity — only counts.</li>
        <li>The mechanism sliders are <b>what-ifs</b>: "× 2" is a question, not a measured patient.</li>
        <li>The cohort is a few hundred patients: its risks carry Monte Carlo error (the 95 % interval shown).</li>
      </ul>`,
  },
];

function showLesson(i) {
  const l = LESSONS[i];
  $("lesson").hidden = false;
  $("lesson-title").textContent = l.title;
  $("lesson-text").innerHTML = l.html;
  for (const b of document.querySelectorAll("#lesson-buttons button")) {
    b.classList.toggle("active", Number(b.dataset.lesson) === i);
  }
  for (const b of document.querySelectorAll("#lesson-text button[data-interval]")) {
    b.addEventListener("click", () => setInputs({ interval_months: Number(b.dataset.interval) }));
  }
  setInputs(l.set);
}

// ---------------------------------------------------------------------------------------------------------------

function wasmBytes() {
  const s = atob(LYMPHOSIM_WASM_BASE64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

async function main() {
  await wasm_bindgen({ module_or_path: wasmBytes() });
  lib = wasm_bindgen;
  defaults = JSON.parse(lib.defaults());
  $("version").textContent = lib.version();
  $("age").value = defaults.age_years;
  makeCharts();
  for (const id of Object.keys(sliders)) {
    $(id).addEventListener("input", changed);
  }
  for (const r of document.querySelectorAll('input[name="regimen"]')) {
    r.addEventListener("change", changed);
  }
  $("reset").addEventListener("click", reset);
  for (const b of document.querySelectorAll("#lesson-buttons button")) {
    b.addEventListener("click", () => showLesson(Number(b.dataset.lesson)));
  }
  changed();
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  $("status").textContent = `The page could not start: ${e.message || e}`;
  console.error(e);
});
