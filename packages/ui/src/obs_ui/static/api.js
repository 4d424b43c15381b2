// The JSON API on this server (same origin; the token, when set, travels as a cookie).

export async function get(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const qs = query.toString();
  return handle(await fetch("/api/" + path + (qs ? "?" + qs : ""), { credentials: "same-origin" }));
}

export async function post(path, body) {
  return handle(
    await fetch("/api/" + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

async function handle(response) {
  const payload = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(payload.error || response.statusText);
  return payload;
}

// The store's services and time range: asked once per page, not again within 2 s.
let metaCache = null;
let metaAt = 0;
export function meta(refresh = false) {
  if (!metaCache || (refresh && Date.now() - metaAt > 2000)) {
    metaAt = Date.now();
    metaCache = get("meta").catch((err) => { metaCache = null; throw err; });
  }
  return metaCache;
}

export const RANGES = [
  ["15m", 15 * 60],
  ["1h", 3600],
  ["6h", 6 * 3600],
  ["24h", 24 * 3600],
  ["7d", 7 * 24 * 3600],
  ["all", 0],
];

// since/until in ns for a range name; "all" starts at the oldest row.
export function window(range, info) {
  const now = Date.now() * 1e6;
  const seconds = (RANGES.find((r) => r[0] === range) || RANGES[1])[1];
  if (!seconds) return { since: info && info.first_ns ? info.first_ns : 1, until: Math.max(now, (info && info.last_ns) || 0) + 1e9 };
  return { since: Math.floor(now - seconds * 1e9), until: Math.floor(now + 60e9) };
}
