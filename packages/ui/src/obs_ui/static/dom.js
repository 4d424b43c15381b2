// Building the page from data. Every stored string reaches the page through textContent or
// a setAttribute on a fixed, harmless attribute: never innerHTML, never an href from data.

const SVG_NS = "http://www.w3.org/2000/svg";
const SAFE_ATTRS = /^(class|id|title|type|value|placeholder|name|for|min|step|rows|cols|spellcheck|checked|selected|disabled|role|tabindex|data-[a-z0-9-]+|aria-[a-z-]+)$/;
const SVG_ATTRS = /^(class|x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|d|viewBox|text-anchor|dominant-baseline|transform|data-[a-z0-9-]+)$/;

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "href") el.setAttribute("href", internalHref(value));
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (SAFE_ATTRS.test(key)) el.setAttribute(key, value === true ? "" : String(value));
    else throw new Error("attribute not allowed: " + key);
  }
  append(el, children);
  return el;
}

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (key === "text") el.textContent = String(value);
    else if (SVG_ATTRS.test(key)) el.setAttribute(key, String(value));
    else throw new Error("svg attribute not allowed: " + key);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Links inside the app only: a '#/' route. Anything else (javascript:, data:, http:) is dropped.
export function internalHref(value) {
  const text = String(value);
  return text.startsWith("#/") ? text : "#/";
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function isHexId(value) {
  return typeof value === "string" && /^[0-9a-f]{1,32}$/.test(value);
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1) return (ms * 1000).toFixed(0) + " µs";
  if (ms < 1000) return ms.toFixed(1) + " ms";
  return (ms / 1000).toFixed(2) + " s";
}

export function fmtTime(ns) {
  if (!ns) return "";
  const d = new Date(Number(ns) / 1e6);
  return d.toLocaleString(undefined, { hour12: false });
}

export function fmtClock(ns) {
  const d = new Date(Number(ns) / 1e6);
  return d.toLocaleTimeString(undefined, { hour12: false });
}

export function fmtCell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function table(columns, rows, opts = {}) {
  const thead = h("thead", {}, h("tr", {}, columns.map((c) => h("th", { text: c }))));
  const body = h("tbody");
  for (const row of rows) {
    const tr = h("tr");
    row.forEach((value, i) => {
      const cell = h("td", { "data-col": columns[i], text: opts.format ? opts.format(columns[i], value) : fmtCell(value) });
      if (typeof value === "number") cell.className = "num";
      tr.append(cell);
    });
    if (opts.onRow) {
      tr.className = "clickable";
      tr.addEventListener("click", () => opts.onRow(row));
    }
    body.append(tr);
  }
  return h("table", { class: "grid" }, thead, body);
}
