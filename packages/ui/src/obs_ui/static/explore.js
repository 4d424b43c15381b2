// Explore: SQL over the store (read-only), the rows as a table and as a chart whose axes are
// chosen from the result's columns; saved queries live in this browser's localStorage.

import { h, clear, table, fmtCell } from "./dom.js";
import { post, meta } from "./api.js";
import { lineChart, barChart, looksLikeTime } from "./charts.js";

const SAVED_KEY = "obs-ui.saved-queries";

function loadSaved() {
  try {
    const value = JSON.parse(localStorage.getItem(SAVED_KEY) || "[]");
    return Array.isArray(value) ? value.filter((q) => q && typeof q.name === "string" && typeof q.sql === "string") : [];
  } catch (_) {
    return [];
  }
}

function store(list) {
  localStorage.setItem(SAVED_KEY, JSON.stringify(list));
}

export async function explorePage(main, params) {
  const info = await meta();
  const editor = h("textarea", { id: "sql", rows: "8", spellcheck: "false", class: "sql" });
  editor.value = params.get("sql") || sessionStorage.getItem("obs-ui.sql") || info.example_sql;
  const result = h("div", { id: "result" });
  const savedList = h("ul", { class: "saved", id: "saved" });
  const saveName = h("input", { placeholder: "name this query", id: "save-name" });
  const run = async () => {
    sessionStorage.setItem("obs-ui.sql", editor.value);
    clear(result).append(h("p", { class: "muted", text: "Running…" }));
    try {
      const res = await post("query", { sql: editor.value });
      showResult(result, res);
    } catch (err) {
      clear(result).append(h("p", { class: "error", id: "query-error", text: err.message }));
    }
  };
  editor.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
  const renderSaved = () => {
    clear(savedList);
    for (const q of loadSaved()) {
      savedList.append(h("li", {},
        h("button", { class: "linkish", text: q.name, onclick: () => { editor.value = q.sql; run(); } }),
        h("button", { class: "small", text: "×", title: "delete", onclick: () => { store(loadSaved().filter((x) => x.name !== q.name)); renderSaved(); } })));
    }
  };
  const save = () => {
    const name = saveName.value.trim();
    if (!name) return;
    store([...loadSaved().filter((x) => x.name !== name), { name, sql: editor.value }]);
    saveName.value = "";
    renderSaved();
  };
  clear(main).append(
    h("h1", { text: "Explore" }),
    h("div", { class: "explore" },
      h("div", { class: "editor" }, editor,
        h("div", { class: "row" }, h("button", { id: "run", text: "Run (Ctrl+Enter)", onclick: run }), saveName, h("button", { id: "save", text: "Save", onclick: save })),
        h("p", { class: "muted small", text: info.tables_help })),
      h("div", { class: "side" }, h("h3", { text: "Saved queries" }), savedList)),
    result);
  renderSaved();
  if (params.get("run")) run();
}

function showResult(target, res) {
  const { columns, rows } = res;
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === "number") && rows.some((r) => typeof r[i] === "number"));
  const chartBox = h("div", { id: "chart" });
  const xSel = h("select", { id: "chart-x" }, columns.map((c, i) => h("option", { value: String(i), text: c })));
  const kindSel = h("select", { id: "chart-kind" }, ["line", "bar"].map((k) => h("option", { value: k, text: k })));
  const yBoxes = columns.map((c, i) => h("label", {}, h("input", { type: "checkbox", value: String(i), "data-col": c }), " " + c));
  // Defaults: x = the first time-like column, else the first column; y = the other numbers.
  let xi = columns.findIndex((c, i) => looksLikeTime(c, rows.map((r) => r[i])));
  const time0 = xi >= 0;
  if (xi < 0) xi = 0;
  xSel.value = String(xi);
  kindSel.value = time0 ? "line" : "bar";
  yBoxes.forEach((label, i) => { label.firstChild.checked = numeric[i] && i !== xi; });
  const draw = () => {
    clear(chartBox);
    const x = Number(xSel.value);
    const ys = yBoxes.map((l) => l.firstChild).filter((b) => b.checked).map((b) => Number(b.value)).filter((i) => i !== x);
    if (!rows.length || !ys.length) { chartBox.append(h("p", { class: "muted", text: "No numeric column to chart." })); return; }
    const series = ys.map((i) => ({ name: columns[i], values: rows.map((r) => (typeof r[i] === "number" ? r[i] : null)) }));
    const xs = rows.map((r) => r[x]);
    if (kindSel.value === "line" && xs.every((v) => typeof v === "number")) {
      chartBox.append(lineChart(xs, series, { time: looksLikeTime(columns[x], xs) }));
    } else {
      chartBox.append(barChart(xs.map(fmtCell), series));
    }
  };
  for (const el of [xSel, kindSel, ...yBoxes.map((l) => l.firstChild)]) el.addEventListener("change", draw);
  clear(target).append(
    h("p", { class: "muted", id: "result-meta", text: `${rows.length} row${rows.length === 1 ? "" : "s"}${res.truncated ? " (first rows only)" : ""} · ${res.ms} ms` }),
    h("div", { class: "chart-controls" }, "chart ", kindSel, " x ", xSel, " y ", yBoxes),
    chartBox,
    h("div", { class: "scroll" }, table(columns, rows)));
  draw();
}
