// The router: #/live, #/trace/<id>, #/explore, #/dash/<name>, #/alerts.

import { h, clear } from "./dom.js";
import { meta } from "./api.js";
import { livePage } from "./live.js";
import { tracePage } from "./trace.js";
import { explorePage } from "./explore.js";
import { dashboardPage, BOARDS } from "./dashboards.js";
import { alertsPage } from "./alerts.js";

let generation = 0;

async function route() {
  const mine = ++generation;
  const isCurrent = () => mine === generation; // a page's timers stop once another is shown
  const main = document.getElementById("main");
  const hash = location.hash || "#/live";
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  const page = parts[0] || "live";
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("active", a.getAttribute("data-nav") === page);
  document.body.setAttribute("data-page", page);
  try {
    if (page === "trace" && parts[1]) await tracePage(main, parts[1], isCurrent);
    else if (page === "explore") await explorePage(main, params);
    else if (page === "dash") await dashboardPage(main, BOARDS.some(([id]) => id === parts[1]) ? parts[1] : "http", params);
    else if (page === "alerts") await alertsPage(main, isCurrent);
    else await livePage(main, params, isCurrent);
    if (isCurrent()) document.body.setAttribute("data-ready", page);
  } catch (err) {
    if (isCurrent()) clear(main).append(h("p", { class: "error", id: "page-error", text: "Could not load: " + err.message }));
  }
}

window.addEventListener("hashchange", () => { document.body.removeAttribute("data-ready"); route(); });
route();
meta().then((info) => { document.getElementById("store").textContent = info.store; }).catch(() => {});
