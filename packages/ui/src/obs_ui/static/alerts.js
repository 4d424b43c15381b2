// Alerts: obs alerting's rules with their current value per group, open and recently resolved
// incidents, and which process evaluates; read again every few seconds while shown.
// Rule names, group values and everything else come from the store: text only, and the only
// link (an incident's example trace) is built from a hexadecimal id.

import { h, clear, isHexId } from "./dom.js";
import { get } from "./api.js";

const POLL_MS = 3000;
const clock = () => new Date().toLocaleTimeString(undefined, { hour12: false });

function groupText(group) {
  if (!group || typeof group !== "object") return "-";
  const parts = Object.entries(group).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(", ") : "-";
}

function text(value) {
  return value === null || value === undefined ? "" : String(value);
}

function grid(columns, rows) {
  return h("table", { class: "grid" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { text: c })))),
    h("tbody", {}, rows));
}

function cell(col, value, cls) {
  return h("td", { "data-col": col, class: cls, text: text(value) });
}

function traceCell(id) {
  // A link only for a hex id; anything else stored there is shown as plain text.
  return h("td", { "data-col": "example trace" },
    isHexId(id) ? h("a", { href: "#/trace/" + id, text: id }) : text(id));
}

function ruleRows(rules) {
  const rows = [];
  for (const rule of rules) {
    const values = rule.values && rule.values.length ? rule.values : [{ group: {}, value_text: "no data", breaching: false }];
    for (const v of values) {
      const state = v.error ? "error: " + v.error : v.breaching ? "breaching" : "ok";
      rows.push(h("tr", { class: v.breaching || v.error ? "error" : null, "data-rule": text(rule.name) },
        cell("rule", rule.name),
        cell("condition", rule.condition),
        cell("metric", rule.metric),
        cell("threshold", `${text(rule.comparison)} ${text(rule.threshold_text)}`.trim()),
        cell("window", rule.window_s === undefined ? "" : rule.window_s + " s", "num"),
        cell("group", groupText(v.group)),
        cell("value", v.value_text, "num"),
        cell("state", state)));
    }
  }
  return rows;
}

function incidentRows(incidents, resolved) {
  return incidents.map((i) => h("tr", { class: resolved ? null : "error", "data-incident": text(i.id) },
    cell("rule", i.rule),
    cell("group", groupText(i.group)),
    resolved ? cell("peak", i.peak_text, "num") : cell("value", i.value_text, "num"),
    cell("threshold", `${text(i.comparison)} ${text(i.threshold_text)}`.trim()),
    cell("since", i.started_at),
    resolved ? cell("resolved", i.resolved_at) : cell("notified", i.notifications, "num"),
    traceCell(i.example_trace_id)));
}

function evaluatorBox(ev) {
  if (!ev) return h("p", { class: "muted", id: "evaluator", text: "No process holds the evaluator lease now: the values are from the last evaluation." });
  return h("table", { class: "kv", id: "evaluator" },
    [["holder", ev.holder], ["host", ev.host], ["pid", ev.pid], ["since", ev.since],
      ["lease expires", ev.expires_at], ["running", ev.active ? "yes" : "no (values are from its last evaluation)"]]
      .map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { "data-col": k, text: text(v) }))));
}

function render(body, status) {
  clear(body);
  if (!status.rules.length && !status.open.length && !status.resolved.length) {
    body.append(h("section", { class: "panel", "data-panel": "alerts" },
      h("p", { class: "muted", id: "alerts-empty", text: "No alert rules in this store. configure(alerts=...) in a program using it, or `obs alerts run --file rules.toml`, evaluates rules and writes them here." })));
    return;
  }
  body.append(
    h("section", { class: "panel", "data-panel": "alert-rules" }, h("h2", { text: "Rules" }),
      h("div", { class: "scroll" }, grid(["rule", "condition", "metric", "threshold", "window", "group", "value", "state"], ruleRows(status.rules)))),
    h("section", { class: "panel", "data-panel": "alert-open" }, h("h2", { text: "Open incidents" }),
      status.open.length
        ? h("div", { class: "scroll" }, grid(["rule", "group", "value", "threshold", "since", "notified", "example trace"], incidentRows(status.open, false)))
        : h("p", { class: "muted", text: "No open incidents." })),
    h("section", { class: "panel", "data-panel": "alert-resolved" }, h("h2", { text: "Recently resolved" }),
      status.resolved.length
        ? h("div", { class: "scroll" }, grid(["rule", "group", "peak", "threshold", "since", "resolved", "example trace"], incidentRows(status.resolved, true)))
        : h("p", { class: "muted", text: "None." })),
    h("section", { class: "panel", "data-panel": "alert-evaluator" }, h("h2", { text: "Evaluator" }), evaluatorBox(status.evaluator)));
}

export async function alertsPage(main, isCurrent) {
  const statusLine = h("span", { class: "muted", id: "alerts-status" });
  const body = h("div", { id: "alerts" });
  clear(main).append(h("h1", {}, "Alerts ", statusLine), body);
  render(body, await get("alerts"));
  statusLine.textContent = "updated " + clock();
  const tick = async () => {
    if (!isCurrent()) return;
    try {
      const status = await get("alerts");
      if (!isCurrent()) return;
      render(body, status);
      statusLine.textContent = "updated " + clock();
    } catch (err) {
      statusLine.textContent = "update failed: " + err.message;
    }
    if (isCurrent()) setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}
