// Live: the newest traces, updated from a since-cursor every second, with filters.

import { h, clear, fmtMs, fmtTime, isHexId } from "./dom.js";
import { get, meta, RANGES, window as timeWindow } from "./api.js";

const POLL_MS = 1000;
const clock = () => new Date().toLocaleTimeString(undefined, { hour12: false });

export async function livePage(main, params, isCurrent) {
  const info = await meta(true);
  const f = {
    service: params.get("service") || "",
    name: params.get("name") || "",
    status: params.get("status") || "",
    min_ms: params.get("min_ms") || "",
    range: params.get("range") || "all",
    attr: params.get("attr") || "",
  };
  const service = h("select", { name: "service" }, h("option", { value: "", text: "all services" }),
    info.services.map((sv) => h("option", { value: sv, text: sv, selected: sv === f.service })));
  const status = h("select", { name: "status" }, ["", "error", "ok", "unset"].map((v) =>
    h("option", { value: v, text: v || "any status", selected: v === f.status })));
  const range = h("select", { name: "range" }, RANGES.map(([v]) => h("option", { value: v, text: v === "all" ? "all time" : "last " + v, selected: v === f.range })));
  const name = h("input", { name: "name", placeholder: "span name or message contains", value: f.name });
  const minMs = h("input", { name: "min_ms", placeholder: "min ms", value: f.min_ms, type: "number", min: "0", step: "any" });
  const attr = h("input", { name: "attr", placeholder: "attribute key=value", value: f.attr });
  const apply = () => {
    const q = new URLSearchParams();
    for (const [k, el] of Object.entries({ service, status, range, name, min_ms: minMs, attr })) if (el.value) q.set(k, el.value);
    location.hash = "#/live?" + q.toString();
  };
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); apply(); } },
    service, name, status, minMs, range, attr, h("button", { type: "submit", text: "Filter" }));
  for (const el of [service, status, range]) el.addEventListener("change", apply);
  const statusLine = h("span", { class: "muted", id: "live-status" });
  const body = h("tbody", { id: "trace-rows" });
  clear(main).append(
    h("h1", {}, "Live traces ", statusLine),
    form,
    h("table", { class: "grid traces" },
      h("thead", {}, h("tr", {}, ["start", "root", "services", "spans", "logs", "duration", "status"].map((c) => h("th", { text: c })))),
      body),
  );

  const rows = new Map(); // trace_id -> summary
  const query = () => {
    const w = timeWindow(f.range, info);
    return { service: f.service, name: f.name, status: f.status, min_ms: f.min_ms, attr: f.attr, since: f.range === "all" ? "" : w.since };
  };
  const render = () => {
    const list = [...rows.values()].sort((a, b) => b.start_ns - a.start_ns).slice(0, 200);
    clear(body);
    for (const t of list) {
      if (!isHexId(t.trace_id)) continue;
      const tr = h("tr", { class: "clickable" + (t.errors ? " error" : ""), "data-trace": t.trace_id },
        h("td", { text: fmtTime(t.start_ns) }),
        h("td", {}, h("a", { href: "#/trace/" + t.trace_id, text: t.root || t.trace_id })),
        h("td", { text: (t.services || []).join(", ") }),
        h("td", { class: "num", text: t.spans }),
        h("td", { class: "num", text: t.logs }),
        h("td", { class: "num", text: fmtMs(t.duration_ms) }),
        h("td", { text: t.errors ? `${t.errors} error${t.errors > 1 ? "s" : ""}` : "ok" }));
      tr.addEventListener("click", (e) => { if (e.target.tagName !== "A") location.hash = "#/trace/" + t.trace_id; });
      body.append(tr);
    }
    statusLine.textContent = `${list.length} traces · updated ${clock()}`;
  };

  let cursor = null;
  const first = await get("traces", { ...query(), limit: 100 });
  for (const t of first.traces) rows.set(t.trace_id, t);
  cursor = first.cursor;
  render();
  const tick = async () => {
    if (!isCurrent()) return;
    try {
      const next = await get("traces", { ...query(), after: cursor, limit: 100 });
      for (const t of next.traces) rows.set(t.trace_id, t);
      cursor = next.cursor;
      // Redraw only when something arrived: a row under the pointer stays where it is.
      if (next.traces.length) render();
      else statusLine.textContent = statusLine.textContent.replace(/updated .*/, "updated " + clock());
    } catch (err) {
      statusLine.textContent = "update failed: " + err.message;
    }
    if (isCurrent()) setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}
