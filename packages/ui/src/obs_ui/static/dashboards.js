// Ready-made dashboards (HTTP, messaging, LLM, Burr, metrics), each filtered by service and time.

import { h, clear, table, fmtTime } from "./dom.js";
import { get, meta, RANGES, window as timeWindow } from "./api.js";
import { lineChart } from "./charts.js";

export const BOARDS = [
  ["http", "HTTP"],
  ["messaging", "Messaging"],
  ["llm", "LLM"],
  ["burr", "Workflows (Burr)"],
  ["metrics", "Metrics"],
];

export async function dashboardPage(main, name, params) {
  const info = await meta(true);
  const range = params.get("range") || "1h";
  const service = params.get("service") || "";
  const metric = params.get("metric") || "";
  const go = (changes) => {
    const q = new URLSearchParams({ range, service, metric, ...changes });
    for (const [k, v] of [...q.entries()]) if (!v) q.delete(k);
    location.hash = `#/dash/${name}?${q.toString()}`;
  };
  const serviceSel = h("select", { id: "dash-service" }, h("option", { value: "", text: "all services" }),
    info.services.map((sv) => h("option", { value: sv, text: sv, selected: sv === service })));
  const rangeSel = h("select", { id: "dash-range" }, RANGES.map(([v]) => h("option", { value: v, text: v === "all" ? "all time" : "last " + v, selected: v === range })));
  serviceSel.addEventListener("change", () => go({ service: serviceSel.value }));
  rangeSel.addEventListener("change", () => go({ range: rangeSel.value }));
  const panels = h("div", { class: "panels", id: "panels" }, h("p", { class: "muted", text: "Loading…" }));
  clear(main).append(
    h("nav", { class: "tabs" }, BOARDS.map(([id, title]) => h("a", { href: `#/dash/${id}`, class: id === name ? "active" : "", text: title }))),
    h("div", { class: "filters" }, serviceSel, rangeSel),
    h("div", { id: "dash-note" }),
    panels);
  const w = timeWindow(range, info);
  let data;
  try {
    data = await get("dashboard/" + name, { since: w.since, until: w.until, service, metric });
  } catch (err) {
    clear(panels).append(h("p", { class: "error", text: err.message }));
    return;
  }
  clear(panels);
  const note = document.getElementById("dash-note");
  if (name === "llm" && info.prices_as_of) note.append(h("p", { class: "muted small", text: `Cost from the price table of ${info.prices_as_of} (USD; override with OBS_LLM_PRICES).` }));
  if (!data.panels.length) panels.append(h("p", { class: "muted", text: name === "metrics" ? "No metrics in this store yet (obs writes them every 10 s while a program runs)." : "Nothing here." }));
  for (const p of data.panels) panels.append(panel(p, name === "metrics" && p.id === "instruments" ? (row) => go({ metric: row[0] }) : null));
}

function panel(p, onRow) {
  const wide = p.type === "table" && p.columns.length > 4;
  const section = h("section", { class: "panel" + (wide ? " wide" : ""), "data-panel": p.id }, h("h2", { text: p.title }));
  if (p.type === "series") {
    if (!p.rows.length) section.append(h("p", { class: "muted", text: "No data in this window." }));
    else {
      const xs = p.rows.map((r) => r[0]);
      const series = p.columns.slice(1).map((c, i) => ({ name: c, values: p.rows.map((r) => r[i + 1]) }));
      section.append(lineChart(xs, series, { time: true }));
    }
  } else if (!p.rows.length) {
    section.append(h("p", { class: "muted", text: "No data in this window." }));
  } else {
    section.append(h("div", { class: "scroll" }, table(p.columns, p.rows, {
      onRow,
      format: (col, v) => (col === "last_time" ? String(v) + " UTC" : v === null || v === undefined ? "" : String(v)),
    })));
  }
  return section;
}

export { fmtTime };
