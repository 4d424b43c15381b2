// One trace: the waterfall (one tree across processes and brokers), logs in place, and the
// detail of the chosen span. Re-read every 1.5 s while open, so logs appear as they happen.

import { h, clear, fmtMs, fmtTime, fmtCell, isHexId } from "./dom.js";
import { get } from "./api.js";

const POLL_MS = 1500;

export async function tracePage(main, traceId, isCurrent) {
  if (!isHexId(traceId)) {
    clear(main).append(h("p", { class: "error", text: "not a trace id" }));
    return;
  }
  let data = await get("trace/" + traceId);
  let selected = null;
  const detail = h("aside", { class: "detail", id: "span-detail" }, h("p", { class: "muted", text: "Select a span." }));
  const wf = h("div", { class: "waterfall", id: "waterfall" });
  const header = h("div", { class: "trace-head" });
  clear(main).append(header, h("div", { class: "trace-body" }, wf, detail));

  const draw = () => {
    const spans = data.spans;
    const services = [...new Set(spans.map((sp) => sp.service_name || "?"))].sort();
    const colour = (svc) => "svc" + (services.indexOf(svc || "?") % 8);
    const byId = new Map(spans.map((sp) => [sp.span_id, sp]));
    const kids = new Map();
    for (const sp of spans) {
      const parent = sp.parent_span_id && byId.has(sp.parent_span_id) ? sp.parent_span_id : null;
      if (!kids.has(parent)) kids.set(parent, []);
      kids.get(parent).push(sp);
    }
    const t0 = Math.min(...spans.map((sp) => sp.start_ns));
    const t1 = Math.max(...spans.map((sp) => sp.end_ns));
    const total = Math.max(1, t1 - t0);
    const errors = spans.filter((sp) => sp.status === "error").length;
    clear(header).append(
      h("h1", {}, "Trace ", h("code", { text: data.trace_id })),
      h("p", { class: "muted" },
        `${spans.filter((sp) => !sp.is_log).length} spans · ${spans.filter((sp) => sp.is_log).length} logs · ${fmtMs(total / 1e6)} · ${fmtTime(t0)} `,
        errors ? h("span", { class: "badge error", text: `${errors} error${errors > 1 ? "s" : ""}` }) : null),
      h("p", { class: "legend" }, services.map((svc) => h("span", { class: "key " + colour(svc), text: svc }))),
    );
    clear(wf);
    const walk = (parent, depth) => {
      const list = (kids.get(parent) || []).slice().sort((a, b) => a.start_ns - b.start_ns);
      for (const sp of list) {
        wf.append(row(sp, depth));
        walk(sp.span_id, depth + 1);
      }
    };
    const row = (sp, depth) => {
      const left = ((sp.start_ns - t0) / total) * 100;
      const width = Math.max(0.3, ((sp.end_ns - sp.start_ns) / total) * 100);
      const bar = h("span", { class: (sp.is_log ? "tick-mark " : "span-bar ") + colour(sp.service_name) + (sp.status === "error" ? " error" : "") });
      bar.style.left = left.toFixed(3) + "%";
      if (!sp.is_log) bar.style.width = Math.min(width, 100 - left).toFixed(3) + "%";
      const label = sp.is_log ? `${(sp.level || "log").toUpperCase()} ${sp.message || sp.name}` : sp.message || sp.name;
      const nameCell = h("span", { class: "name" },
        sp.status === "error" ? h("span", { class: "err-mark", text: "✗ " }) : null,
        h("span", { class: "label", text: label }),
        sp.is_log || sp.kind === "internal" ? null : h("span", { class: "kind", text: " " + sp.kind }));
      nameCell.style.paddingLeft = depth * 14 + "px";
      const r = h("div", {
        class: "wf-row" + (sp.is_log ? " log" : "") + (sp.status === "error" ? " error" : "") + (selected === sp.span_id ? " selected" : ""),
        "data-span": sp.span_id, "data-parent": sp.parent_span_id || "", "data-depth": String(depth), "data-service": sp.service_name || "",
        tabindex: "0",
      }, nameCell, h("span", { class: "track" }, bar), h("span", { class: "dur num", text: sp.is_log ? "" : fmtMs(sp.duration_ms) }),
      h("span", { class: "svc muted", text: sp.service_name || "" }));
      r.addEventListener("click", () => { selected = sp.span_id; draw(); showDetail(sp); });
      return r;
    };
    walk(null, 0);
    if (selected && byId.has(selected)) showDetail(byId.get(selected));
  };

  const showDetail = (sp) => {
    const attrs = sp.attributes && typeof sp.attributes === "object" ? sp.attributes : {};
    const kv = (obj) => h("table", { class: "kv" }, h("tbody", {}, Object.entries(obj).map(([k, v]) =>
      h("tr", {}, h("th", { text: k }), h("td", { text: fmtCell(v) })))));
    const events = Array.isArray(sp.events) ? sp.events : [];
    const links = Array.isArray(sp.links) ? sp.links : [];
    clear(detail).append(h("div", { "data-detail": sp.span_id },
      h("h2", { text: sp.is_log ? sp.message || sp.name : sp.name }),
      h("p", { class: "muted", text: `${sp.kind} · ${sp.service_name || "?"} · ${sp.scope || ""}` }),
      h("p", {}, `status: `, h("span", { class: sp.status === "error" ? "badge error" : "badge", text: sp.status }), sp.status_message ? " " + sp.status_message : ""),
      h("p", { class: "muted", text: `start ${fmtTime(sp.start_ns)} · ${fmtMs(sp.duration_ms)} · span ${sp.span_id}` }),
      h("h3", { text: "Attributes" }), kv(attrs),
      events.length ? h("h3", { text: "Events" }) : null,
      events.map((ev) => {
        const a = ev && typeof ev.attributes === "object" && ev.attributes ? ev.attributes : {};
        const isExc = ev.name === "exception";
        return h("div", { class: "event" + (isExc ? " exception" : "") },
          h("strong", { text: isExc ? `${a["exception.type"] || "exception"}: ${a["exception.message"] || ""}` : String(ev.name) }),
          isExc && a["exception.stacktrace"] ? h("pre", { class: "stack", text: String(a["exception.stacktrace"]) }) : null,
          kv(Object.fromEntries(Object.entries(a).filter(([k]) => k !== "exception.stacktrace"))));
      }),
      links.length ? h("h3", { text: "Links" }) : null,
      links.map((ln) => isHexId(ln.trace_id)
        ? h("p", {}, h("a", { class: "link", href: "#/trace/" + ln.trace_id, "data-link": ln.trace_id, text: `trace ${ln.trace_id} · span ${ln.span_id}` }))
        : h("p", { text: "link: " + fmtCell(ln) })),
      h("h3", { text: "Resource" }), kv(sp.resource && typeof sp.resource === "object" ? sp.resource : {}),
    ));
  };

  draw();
  let count = data.spans.length;
  const tick = async () => {
    if (!isCurrent()) return;
    try {
      const next = await get("trace/" + traceId);
      if (next.spans.length !== count) { data = next; count = next.spans.length; draw(); }
    } catch (_) { /* the next tick tries again */ }
    if (isCurrent()) setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}
