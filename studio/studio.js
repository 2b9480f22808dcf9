// Custom NER studio: a read-only page over the service's own authoring REST API.
// Plain browser JavaScript (no framework, no build step, no CDN). Every number shown comes from the
// keyed API; the key is asked for once and kept in sessionStorage (this tab only).
"use strict";

const API = "/language/authoring/analyze-text/projects";
const STUDIO_API = "/language/studio/api/projects";
const VERSION = "2023-04-01";
const KEY_STORE = "ner-studio-key";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const NONE = "$none";
const REFRESH_MS = 2000;

let refreshTimer = null;
let renderToken = 0;

// ------------------------------------------------------------------------------------------ helpers

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || String(status);
  }
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "style") node.setAttribute("style", value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const pct = (value) => `${(100 * Number(value || 0)).toFixed(1)}%`;
const enc = encodeURIComponent;

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function eta(iso) {
  if (!iso) return "";
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  if (seconds <= 0) return `due ${when(iso)}`;
  const text = seconds < 90 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
  return `in ${text} (${when(iso)})`;
}

function key() { return sessionStorage.getItem(KEY_STORE); }

async function call(url, options = {}) {
  const headers = { "Ocp-Apim-Subscription-Key": key() || "", ...(options.headers || {}) };
  const response = await fetch(url, { ...options, headers });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (response.status === 401) {
    sessionStorage.removeItem(KEY_STORE);
    showKeyForm((body && body.error && body.error.message) || "The key was refused.");
    throw new ApiError(401, body);
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return { body, headers: response.headers };
}

function apiUrl(path, params = {}) {
  const query = new URLSearchParams({ ...params, "api-version": VERSION });
  return `${API}${path ? "/" + path : ""}?${query}`;
}

async function get(path, params) { return (await call(apiUrl(path, params))).body; }

async function getAll(path, params) {
  // Follow nextLink to the end of a paged list.
  const items = [];
  let page = await get(path, params);
  for (;;) {
    items.push(...page.value);
    if (!page.nextLink) return items;
    page = (await call(page.nextLink)).body;
  }
}

// ----------------------------------------------------------------------------------------- key form

function showKeyForm(message) {
  document.getElementById("view").replaceChildren();
  document.getElementById("crumbs").replaceChildren();
  document.getElementById("forget-key").hidden = true;
  document.getElementById("key-form").hidden = false;
  document.getElementById("key-error").textContent = message || "";
  document.getElementById("key-input").focus();
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORE, document.getElementById("key-input").value.trim());
  document.getElementById("key-input").value = "";
  route();
});

document.getElementById("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORE);
  showKeyForm("");
});

// -------------------------------------------------------------------------------------------- views

function crumbs(project, extra) {
  const parts = [el("a", { href: "#/" }, "Projects")];
  if (project) parts.push(el("span", { class: "sep" }, "/"), el("a", { href: `#/p/${enc(project)}` }, project));
  if (extra) parts.push(el("span", { class: "sep" }, "/"), el("span", {}, extra));
  document.getElementById("crumbs").replaceChildren(...parts);
}

function status(value) { return el("span", { class: `status ${value}`, "data-status": value }, value); }

function progress(value) {
  return el("span", { class: "progress-cell" },
    el("span", { class: "progress" }, el("div", { style: `width:${Number(value) || 0}%` })), ` ${value}%`);
}

async function projectsView(token) {
  crumbs();
  const projects = await getAll("");
  if (token !== renderToken) return;
  const rows = projects.map((p) => el("tr", { "data-project": p.projectName },
    el("td", {}, el("a", { href: `#/p/${enc(p.projectName)}` }, p.projectName)),
    el("td", {}, p.language || ""), el("td", {}, p.storageInputContainerName || ""),
    el("td", {}, when(p.lastTrainedDateTime) || el("span", { class: "muted" }, "never")),
    el("td", {}, when(p.lastModifiedDateTime))));
  view(el("h1", {}, "Projects"),
    projects.length ? el("table", { id: "projects" },
      el("thead", {}, el("tr", {}, ["Project", "Language", "Container", "Last trained", "Last modified"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows))
      : el("p", { class: "muted" }, "No projects yet: import one with python -m samples.load."));
}

async function progressOf(project, jobId) {
  // Phase and per-chunk history (step, loss, dev F1): the studio's own keyed read.
  const query = new URLSearchParams({ "api-version": VERSION });
  return (await call(`${STUDIO_API}/${enc(project)}/train/jobs/${enc(jobId)}/progress?${query}`)).body;
}

function curve(history) {
  const width = 520, height = 180, pad = 34;
  const points = history.filter((h) => Number.isFinite(h.step));
  if (points.length === 0) return el("p", { class: "muted" }, "No training chunks recorded yet.");
  const maxStep = Math.max(1, ...points.map((h) => h.step));
  const maxLoss = Math.max(1e-9, ...points.map((h) => h.loss || 0));
  const x = (step) => pad + (width - 2 * pad) * (step / maxStep);
  const yLoss = (loss) => height - pad - (height - 2 * pad) * (loss / maxLoss);
  const yScore = (score) => height - pad - (height - 2 * pad) * score;
  const line = (pick, y) => points.filter((h) => Number.isFinite(pick(h)))
    .map((h) => `${x(h.step).toFixed(1)},${y(pick(h)).toFixed(1)}`).join(" ");
  return svg("svg", { class: "curve", width, height, viewBox: `0 0 ${width} ${height}`, "data-points": points.length },
    svg("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, stroke: "#999" }),
    svg("line", { x1: pad, y1: pad, x2: pad, y2: height - pad, stroke: "#999" }),
    svg("polyline", { points: line((h) => h.loss, yLoss), fill: "none", stroke: "#cf222e", "stroke-width": 2, class: "loss" }),
    svg("polyline", { points: line((h) => h.devF1, yScore), fill: "none", stroke: "#0f6cbd", "stroke-width": 2, class: "dev" }),
    svg("text", { x: pad, y: 14 }, "loss (red, scaled) and dev F1 (blue, 0-1) by step"),
    svg("text", { x: width - pad, y: height - 10, "text-anchor": "end" }, `step ${maxStep}`));
}

function jobRow(project, job) {
  const result = job.result || {};
  const training = result.trainingStatus || {};
  const evaluation = result.evaluationStatus || {};
  return el("tr", { "data-job": job.jobId },
    el("td", {}, el("a", { href: `#/p/${enc(project)}/jobs/${enc(job.jobId)}` }, result.modelLabel || job.jobId)),
    el("td", {}, status(job.status)),
    el("td", { class: "training" }, progress(training.percentComplete || 0)),
    el("td", { class: "evaluation" }, progress(evaluation.percentComplete || 0), " ", el("span", { class: "muted" }, evaluation.status || "")),
    el("td", { class: "eta" }, TERMINAL.has(job.status) ? "" : eta(result.estimatedEndDateTime)),
    el("td", {}, when(job.createdDateTime)));
}

async function projectView(token, project) {
  crumbs(project);
  const [info, jobs, models, deployments] = await Promise.all([
    get(enc(project)), getAll(`${enc(project)}/train/jobs`), getAll(`${enc(project)}/models`),
    getAll(`${enc(project)}/deployments`).catch((error) => {
      if (error.status === 404) return [];   // the service has no deployments yet
      throw error;
    }),
  ]);
  if (token !== renderToken) return;
  jobs.sort((a, b) => String(b.createdDateTime).localeCompare(String(a.createdDateTime)));
  const running = jobs.find((job) => !TERMINAL.has(job.status));
  const runningProgress = running ? await progressOf(project, running.jobId) : null;
  view(
    el("h1", {}, project),
    el("p", { class: "muted" }, `${info.language || ""} · container ${info.storageInputContainerName || ""}`),
    el("h2", {}, "Training jobs"),
    jobs.length ? el("table", { id: "jobs" },
      el("thead", {}, el("tr", {}, ["Model", "Status", "Training", "Evaluation", "Estimated end", "Created"].map((h) => el("th", {}, h)))),
      el("tbody", {}, jobs.map((job) => jobRow(project, job))))
      : el("p", { class: "muted" }, "No training jobs."),
    running ? el("div", { id: "running-curve" },
      el("h2", {}, `Running: ${running.result.modelLabel} (${runningProgress.phase})`), curve(runningProgress.history)) : null,
    el("h2", {}, "Models"),
    models.length ? el("table", { id: "models" },
      el("thead", {}, el("tr", {}, ["Model", "Trained", "Duration", "Config"].map((h) => el("th", {}, h)))),
      el("tbody", {}, models.map((m) => el("tr", { "data-model": m.label },
        el("td", {}, el("a", { href: `#/p/${enc(project)}/models/${enc(m.label)}` }, m.label)),
        el("td", {}, when(m.lastTrainedDateTime)), el("td", { class: "num" }, `${m.lastTrainingDurationInSeconds} s`),
        el("td", {}, m.modelTrainingConfigVersion)))))
      : el("p", { class: "muted" }, "No trained models yet."),
    el("h2", {}, "Deployments"),
    el("div", { id: "deployments" }, deployments.length
      ? el("ul", {}, deployments.map((d) => el("li", {}, `${d.deploymentName}: ${d.modelId || ""}`)))
      : el("p", { class: "muted" }, "No deployments.")),
  );
  if (running) refreshTimer = setTimeout(() => render(), REFRESH_MS);
}

async function jobView(token, project, jobId) {
  crumbs(project, `job ${jobId.slice(0, 8)}`);
  const [job, progressInfo] = await Promise.all([
    get(`${enc(project)}/train/jobs/${enc(jobId)}`), progressOf(project, jobId),
  ]);
  if (token !== renderToken) return;
  const history = progressInfo.history || [];
  const last = history[history.length - 1];
  const result = job.result || {};
  const problems = [...(job.errors || []), ...(job.warnings || [])];
  view(
    el("h1", {}, `Training ${result.modelLabel}`),
    el("div", { class: "cards" },
      card("Status", status(job.status), "job-status"),
      card("Phase", el("span", { "data-phase": progressInfo.phase }, progressInfo.phase), "job-phase"),
      card("Training", progress((result.trainingStatus || {}).percentComplete || 0), "job-training"),
      card("Evaluation", progress((result.evaluationStatus || {}).percentComplete || 0), "job-evaluation"),
      card("Estimated end", TERMINAL.has(job.status) ? "—" : eta(result.estimatedEndDateTime) || "—", "job-eta"),
      last ? card("Last chunk", `step ${last.step} · loss ${Number(last.loss).toFixed(2)}` +
        (last.devF1 === null || last.devF1 === undefined ? "" : ` · dev F1 ${pct(last.devF1)}`), "job-last-chunk") : null),
    el("h2", {}, "Loss and dev score"), curve(history),
    problems.length ? el("h2", {}, "Errors and warnings") : null,
    problems.length ? el("ul", {}, problems.map((p) => el("li", {}, `${p.target ? p.target + ": " : ""}${p.message}`))) : null,
    TERMINAL.has(job.status) && job.status === "succeeded"
      ? el("p", {}, el("a", { href: `#/p/${enc(project)}/models/${enc(result.modelLabel)}` }, "Open the model's evaluation")) : null,
  );
  if (!TERMINAL.has(job.status)) refreshTimer = setTimeout(() => render(), REFRESH_MS);
}

function card(label, value, id) {
  return el("div", { class: "card", id }, el("div", { class: "value" }, value), el("div", { class: "label" }, label));
}

// -------------------------------------------------------------------------------------- evaluation

function categories(evaluation) {
  const names = new Set(Object.keys(evaluation.entities || {}));
  for (const [expected, row] of Object.entries(evaluation.confusionMatrix || {})) {
    names.add(expected);
    for (const predicted of Object.keys(row)) names.add(predicted);
  }
  names.delete(NONE);
  return [...[...names].sort(), NONE];
}

function entityBars(evaluation) {
  const entries = Object.entries(evaluation.entities || {}).sort(([a], [b]) => a.localeCompare(b));
  const bar = (kind, value) => el("div", { class: "bar-track", title: `${kind} ${pct(value)}` },
    el("div", { class: `bar-fill ${kind}`, style: `width:${100 * value}%` }));
  return el("table", { id: "entity-metrics", class: "bars" },
    el("thead", {}, el("tr", {}, ["Entity", "Precision", "Recall", "F1", "TP", "FP", "FN", ""].map((h, i) => el("th", { class: i && i < 7 ? "num" : "" }, h)))),
    el("tbody", {}, entries.map(([name, m]) => el("tr", { "data-entity": name },
      el("td", {}, name),
      el("td", { class: "num precision" }, pct(m.precision)), el("td", { class: "num recall" }, pct(m.recall)),
      el("td", { class: "num f1" }, pct(m.f1)),
      el("td", { class: "num tp" }, m.truePositiveCount), el("td", { class: "num fp" }, m.falsePositiveCount),
      el("td", { class: "num fn" }, m.falseNegativeCount),
      el("td", { class: "bar" }, bar("precision", m.precision), bar("recall", m.recall), bar("f1", m.f1))))));
}

function heatmap(evaluation) {
  const names = categories(evaluation);
  const matrix = evaluation.confusionMatrix || {};
  const max = Math.max(1, ...names.flatMap((e) => names.map((p) => ((matrix[e] || {})[p] || {}).rawValue || 0)));
  return el("table", { id: "confusion", class: "heatmap" },
    el("thead", {}, el("tr", {}, el("th", { class: "axis" }, "expected ↓ / predicted →"), names.map((n) => el("th", { class: "axis" }, n)))),
    el("tbody", {}, names.map((expected) => el("tr", { "data-expected": expected },
      el("th", { class: "axis" }, expected),
      names.map((predicted) => {
        const raw = ((matrix[expected] || {})[predicted] || {}).rawValue || 0;
        const alpha = raw ? 0.15 + 0.75 * (raw / max) : 0;
        const color = expected === predicted ? `rgba(26,127,55,${alpha})` : `rgba(207,34,46,${alpha})`;
        return el("td", { class: "cell", "data-predicted": predicted, style: `background:${color}` }, raw);
      })))));
}

function entityKey(entity) { return `${entity.offset}:${entity.length}`; }

function compare(expected, predicted) {
  // Exact span + category matches are correct; the rest are disagreements, kinds named for people.
  const predictedBySpan = new Map(predicted.map((p) => [entityKey(p), p]));
  const expectedBySpan = new Map(expected.map((e) => [entityKey(e), e]));
  const diffs = [];
  for (const e of expected) {
    const p = predictedBySpan.get(entityKey(e));
    if (!p) diffs.push({ kind: "fn", entity: e, text: `missed ${e.category}` });
    else if (p.category !== e.category) diffs.push({ kind: "swap", entity: e, text: `${e.category} predicted as ${p.category}` });
  }
  for (const p of predicted) {
    if (!expectedBySpan.has(entityKey(p))) diffs.push({ kind: "fp", entity: p, text: `spurious ${p.category}` });
  }
  return diffs.sort((a, b) => a.entity.offset - b.entity.offset);
}

function highlighted(text, expected, predicted) {
  // Offsets are UTF-16 code units, which is what JavaScript strings index: slice directly.
  const cuts = new Set([0, text.length]);
  for (const e of [...expected, ...predicted]) { cuts.add(e.offset); cuts.add(e.offset + e.length); }
  const points = [...cuts].filter((c) => c >= 0 && c <= text.length).sort((a, b) => a - b);
  const covering = (list, start) => list.filter((e) => e.offset <= start && start < e.offset + e.length);
  const exact = new Set(expected.map((e) => `${entityKey(e)}:${e.category}`));
  const nodes = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [start, end] = [points[i], points[i + 1]];
    const piece = text.slice(start, end);
    const exp = covering(expected, start);
    const pred = covering(predicted, start);
    if (!exp.length && !pred.length) { nodes.push(piece); continue; }
    const wrong = pred.some((p) => !exact.has(`${entityKey(p)}:${p.category}`)) || (exp.length && !pred.length);
    const classes = [exp.length ? "exp" : "", pred.length ? "pred" : "", wrong ? "wrong" : ""].filter(Boolean).join(" ");
    const title = [...exp.map((e) => `expected ${e.category}`), ...pred.map((p) => `predicted ${p.category}`)].join(", ");
    const tags = [];
    for (const e of exp) if (e.offset + e.length === end) tags.push(e.category);
    for (const p of pred) if (p.offset + p.length === end && !exact.has(`${entityKey(p)}:${p.category}`)) tags.push(`→${p.category}`);
    nodes.push(el("mark", { class: classes, title }, piece, tags.length ? el("span", { class: "tag" }, tags.join(" ")) : null));
  }
  return nodes;
}

function splitTable(testDocs, trainingSide) {
  // Test side from the evaluation results; training side as the service recorded it (null: still loading).
  const test = {};
  for (const doc of testDocs) for (const r of doc.regions) for (const e of r.expected) test[e.category] = (test[e.category] || 0) + 1;
  const train = trainingSide ? trainingSide.trainingEntities : {};
  const types = [...new Set([...Object.keys(test), ...Object.keys(train)])].sort();
  const cell = (value, name) => el("td", { class: `num ${name}` }, value === null ? "…" : value);
  return el("table", { id: "split" },
    el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", { class: "num" }, "Train"), el("th", { class: "num" }, "Test"))),
    el("tbody", {},
      el("tr", { "data-row": "documents" }, el("th", {}, "Documents"), cell(trainingSide ? trainingSide.trainingDocuments : null, "train"), cell(testDocs.length, "test")),
      types.map((t) => el("tr", { "data-row": t }, el("td", {}, t), cell(trainingSide ? train[t] || 0 : null, "train"), cell(test[t] || 0, "test")))));
}

async function trainingSide(project, label) {
  // What the model trained on, from what its training job kept (no export job per page view).
  const query = new URLSearchParams({ "api-version": VERSION });
  return (await call(`${STUDIO_API}/${enc(project)}/models/${enc(label)}/training-side?${query}`)).body;
}

async function documentText(project, label, location) {
  const query = new URLSearchParams({ location, "api-version": VERSION });
  return (await call(`${STUDIO_API}/${enc(project)}/models/${enc(label)}/documents?${query}`)).body.text;
}

function documentCard(doc) {
  const expected = doc.regions.flatMap((r) => r.expected);
  const predicted = doc.regions.flatMap((r) => r.predicted);
  const diffs = compare(expected, predicted);
  const textBox = el("div", { class: "doc-text" }, el("span", { class: "muted" }, "loading text…"));
  const node = el("div", { class: `doc ${diffs.length ? "disagrees" : "agrees"}`, "data-location": doc.location, "data-disagreements": diffs.length },
    el("div", { class: "doc-head" }, el("strong", {}, doc.location),
      el("span", { class: "muted" }, `${expected.length} expected · ${predicted.length} predicted`),
      diffs.length ? el("span", { class: "error disagreement-count" }, `${diffs.length} disagreement${diffs.length > 1 ? "s" : ""}`)
        : el("span", { class: "status succeeded" }, "all correct")),
    textBox,
    diffs.length ? el("ul", { class: "diffs" }, diffs.map((d) => el("li", { class: d.kind }, d.text))) : null);
  return { node, textBox, expected, predicted, diffs };
}

async function modelView(token, project, label) {
  crumbs(project, `model ${label}`);
  const base = `${enc(project)}/models/${enc(label)}`;
  const [model, summary, results] = await Promise.all([
    get(base), get(`${base}/evaluation/summary-result`),
    getAll(`${base}/evaluation/result`, { stringIndexType: "Utf16CodeUnit" }),
  ]);
  if (token !== renderToken) return;
  const evaluation = summary.customEntityRecognitionEvaluation || {};
  const options = summary.evaluationOptions || {};
  const docs = results.map((r) => ({
    location: r.location,
    regions: ((r.customEntityRecognitionResult || {}).entities || []).map((region) => ({
      expected: region.expectedEntities || [], predicted: region.predictedEntities || [],
    })),
  }));
  const cards = docs.map(documentCard).sort((a, b) => b.diffs.length - a.diffs.length || a.node.dataset.location.localeCompare(b.node.dataset.location));
  const withDiffs = cards.filter((c) => c.diffs.length).length;
  const onlyDiffs = el("input", { type: "checkbox", id: "only-disagreements", onchange: (event) => {
    for (const c of cards) c.node.hidden = event.target.checked && !c.diffs.length;
  } });
  const splitBox = el("div", { id: "split-box" }, splitTable(docs, null));
  view(
    el("h1", {}, `Model ${label}`),
    el("p", { class: "muted" }, `trained ${when(model.lastTrainedDateTime)} in ${model.lastTrainingDurationInSeconds} s · config ${model.modelTrainingConfigVersion}`),
    el("div", { class: "cards" },
      card("Micro F1", pct(evaluation.microF1), "micro-f1"), card("Micro precision", pct(evaluation.microPrecision), "micro-precision"),
      card("Micro recall", pct(evaluation.microRecall), "micro-recall"), card("Macro F1", pct(evaluation.macroF1), "macro-f1"),
      card("Test documents", docs.length, "test-documents")),
    el("h2", {}, "Per-entity precision, recall and F1"), entityBars(evaluation),
    el("div", { class: "legend" }, el("span", {}, el("span", { class: "swatch", style: "background:#8cb4e0" }), "precision"),
      el("span", {}, el("span", { class: "swatch", style: "background:#9fd3a8" }), "recall"),
      el("span", {}, el("span", { class: "swatch", style: "background:#0f6cbd" }), "F1")),
    el("h2", {}, "Confusion matrix"),
    el("p", { class: "muted" }, `Rows: labelled type; columns: predicted type; ${NONE}: no entity there.`), heatmap(evaluation),
    el("h2", {}, "Split"),
    el("p", { class: "notice", id: "split-rule" }, splitRule(options, summary)),
    splitBox,
    el("h2", {}, "Test documents"),
    el("div", { class: "toolbar" },
      el("span", { id: "disagreement-summary" }, `${withDiffs} of ${docs.length} documents with disagreements`),
      el("label", {}, onlyDiffs, " only documents with disagreements")),
    el("div", { class: "legend" },
      el("span", {}, el("span", { class: "swatch", style: "border-bottom:2px solid #0f6cbd" }), "expected (underlined)"),
      el("span", {}, el("span", { class: "swatch", style: "background:rgba(26,127,55,.22)" }), "predicted, correct"),
      el("span", {}, el("span", { class: "swatch", style: "background:rgba(207,34,46,.25)" }), "disagreement")),
    el("div", { id: "documents" }, cards.map((c) => c.node)),
  );
  // The slower parts fill in afterwards: document texts and the training side of the split.
  await Promise.all([
    ...cards.map(async (c) => {
      try {
        const text = await documentText(project, label, c.node.dataset.location);
        c.textBox.replaceChildren(...highlighted(text, c.expected, c.predicted));
        c.node.querySelectorAll(".diffs li").forEach((li, i) => {
          const entity = c.diffs[i].entity;
          li.append(` “${text.slice(entity.offset, entity.offset + entity.length)}”`);
        });
      } catch (error) {
        c.textBox.replaceChildren(el("span", { class: "error" }, `text unavailable: ${error.message}`));
      }
    }),
    trainingSide(project, label).then((side) => {
      if (token === renderToken) splitBox.replaceChildren(splitTable(docs, side));
    }).catch((error) => splitBox.append(el("p", { class: "error" }, `training side unavailable: ${error.message}`))),
  ]);
  if (token === renderToken) document.getElementById("view").dataset.complete = "true";
}

function splitRule(options, summary) {
  // The service's own account of the split (documents marked Test always test), when it gives one.
  if (summary.effectiveSplit && summary.effectiveSplit.explanation) return summary.effectiveSplit.explanation;
  if (options.kind === "manual") return "Manual split: documents marked Train trained the model, documents marked Test evaluated it.";
  return `Percentage split (${options.trainingSplitPercentage ?? 80}/${options.testingSplitPercentage ?? 20}): documents marked Test ` +
    "always stay in the test set; the percentages split the remaining documents.";
}

// ------------------------------------------------------------------------------------------ routing

function view(...children) {
  const node = document.getElementById("view");
  delete node.dataset.complete;
  node.replaceChildren(...children.filter(Boolean));
}

async function render() {
  clearTimeout(refreshTimer);
  const token = ++renderToken;
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "p" && parts[2] === "models" && parts[3]) await modelView(token, parts[1], parts[3]);
    else if (parts[0] === "p" && parts[2] === "jobs" && parts[3]) await jobView(token, parts[1], parts[3]);
    else if (parts[0] === "p" && parts[1]) await projectView(token, parts[1]);
    else await projectsView(token);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    if (token === renderToken) view(el("p", { class: "error", id: "view-error" }, `${error.code ? error.code + ": " : ""}${error.message}`));
  }
}

function route() {
  if (!key()) { showKeyForm(""); return; }
  document.getElementById("key-form").hidden = true;
  document.getElementById("forget-key").hidden = false;
  render();
}

window.addEventListener("hashchange", route);
route();
