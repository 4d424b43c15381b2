// Hand-written SVG charts: a time/number series (lines) and a bar chart. Every point carries
// its row's values as data attributes, so what is drawn can be checked against the rows.

import { s, h, fmtClock } from "./dom.js";

const W = 720;
const H = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

function niceTicks(min, max, count) {
  if (min === max) { max = min + 1; }
  const span = max - min;
  const step0 = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= step0) || step0;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) ticks.push(v);
  return ticks;
}

function fmtNum(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e3) return (v / 1e3).toFixed(1) + "k";
  if (a > 0 && a < 0.01) return v.toExponential(1);
  return String(Math.round(v * 100) / 100);
}

export function looksLikeTime(name, values) {
  const nums = values.filter((v) => typeof v === "number");
  return nums.length > 0 && nums.every((v) => v > 1e17 && v < 1e19) || (/(^t$|time|minute|hour|bucket)/i.test(name) && nums.length > 0 && nums.every((v) => v > 1e17));
}

// series: [{name, values: [...]}], x: [...] numbers (ns when time)
export function lineChart(x, series, opts = {}) {
  const time = opts.time;
  const pts = x.map(Number);
  const ys = series.flatMap((se) => se.values.filter((v) => typeof v === "number"));
  const minX = Math.min(...pts), maxX = Math.max(...pts);
  const minY = Math.min(0, ...ys), maxY = Math.max(1e-9, ...ys);
  const sx = (v) => PAD.left + (maxX === minX ? (W - PAD.left - PAD.right) / 2 : ((v - minX) / (maxX - minX)) * (W - PAD.left - PAD.right));
  const sy = (v) => H - PAD.bottom - ((v - minY) / (maxY - minY || 1)) * (H - PAD.top - PAD.bottom);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, "data-kind": "line", "data-points": String(pts.length) });
  for (const t of niceTicks(minY, maxY, 4)) {
    svg.append(s("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: sy(t), y2: sy(t) }));
    svg.append(s("text", { class: "tick", x: PAD.left - 6, y: sy(t), "text-anchor": "end", "dominant-baseline": "middle", text: fmtNum(t) }));
  }
  const xt = Math.min(6, pts.length);
  for (let i = 0; i < xt; i++) {
    const v = minX + ((maxX - minX) * i) / Math.max(1, xt - 1);
    const anchor = xt > 1 && i === 0 ? "start" : xt > 1 && i === xt - 1 ? "end" : "middle"; // stay inside
    svg.append(s("text", { class: "tick", x: sx(v), y: H - 8, "text-anchor": anchor, text: time ? fmtClock(v) : fmtNum(v) }));
  }
  series.forEach((se, k) => {
    const coords = [];
    se.values.forEach((v, i) => { if (typeof v === "number") coords.push([sx(pts[i]), sy(v), pts[i], v]); });
    svg.append(s("polyline", { class: `line c${k % 8}`, points: coords.map((c) => `${c[0].toFixed(1)},${c[1].toFixed(1)}`).join(" "), "data-series": se.name }));
    for (const c of coords) {
      svg.append(s("circle", { class: `dot c${k % 8}`, cx: c[0].toFixed(1), cy: c[1].toFixed(1), r: 2.5, "data-series": se.name, "data-x": String(c[2]), "data-y": String(c[3]) }));
    }
  });
  return h("figure", { class: "chart-box" }, svg, legend(series.map((se) => se.name)));
}

export function barChart(labels, series) {
  const n = labels.length;
  const ys = series.flatMap((se) => se.values.filter((v) => typeof v === "number"));
  const maxY = Math.max(1e-9, ...ys);
  const minY = Math.min(0, ...ys);
  const inner = W - PAD.left - PAD.right;
  const group = inner / Math.max(1, n);
  const bw = Math.max(1, (group * 0.8) / Math.max(1, series.length));
  const sy = (v) => H - PAD.bottom - ((v - minY) / (maxY - minY || 1)) * (H - PAD.top - PAD.bottom);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, "data-kind": "bar", "data-points": String(n) });
  for (const t of niceTicks(minY, maxY, 4)) {
    svg.append(s("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: sy(t), y2: sy(t) }));
    svg.append(s("text", { class: "tick", x: PAD.left - 6, y: sy(t), "text-anchor": "end", "dominant-baseline": "middle", text: fmtNum(t) }));
  }
  labels.forEach((label, i) => {
    series.forEach((se, k) => {
      const v = se.values[i];
      if (typeof v !== "number") return;
      const x = PAD.left + i * group + group * 0.1 + k * bw;
      const y0 = sy(Math.max(0, minY)), y1 = sy(v);
      svg.append(s("rect", { class: `bar c${k % 8}`, x: x.toFixed(1), y: Math.min(y0, y1).toFixed(1), width: bw.toFixed(1), height: Math.max(0.5, Math.abs(y0 - y1)).toFixed(1), "data-series": se.name, "data-label": String(label), "data-y": String(v) }));
    });
    if (n <= 24) {
      const text = String(label);
      const room = Math.max(3, Math.floor(group / 6.5)); // characters that fit under a bar group
      svg.append(s("text", { class: "tick", x: (PAD.left + i * group + group / 2).toFixed(1), y: H - 8, "text-anchor": "middle", text: text.length > room ? text.slice(0, room - 1) + "…" : text }));
    }
  });
  return h("figure", { class: "chart-box" }, svg, legend(series.map((se) => se.name)));
}

function legend(names) {
  return h("figcaption", { class: "legend" }, names.map((name, k) => h("span", { class: `key c${k % 8}`, text: name })));
}
