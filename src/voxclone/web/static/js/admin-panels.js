// The Admin page's read-only panels: usage across keys (GET /v1/admin/usage?group_by=key) and
// the engines with their health and latency percentiles (GET /v1/engines).

import { api } from "./api.js";
import { errorBox, h, showError } from "./ui.js";
import { dayChart, totalsTable } from "./usage-view.js";

function ms(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value)} ms`;
}

// keys() → the key list (to name the rows by label).
export function keyUsageCard(keys) {
  const body = h("div");
  const box = errorBox();
  const element = h(
    "section",
    { class: "card", "aria-labelledby": "key-usage-title" },
    h("h2", { id: "key-usage-title" }, "Usage across keys"),
    body,
    box,
  );
  async function refresh() {
    try {
      const usage = await api("/v1/admin/usage", { query: { group_by: "key" } });
      const days = await api("/v1/admin/usage", { query: { group_by: "day" } });
      const label = new Map(keys().map((k) => [k.key_id, k.label || `${k.prefix}…`]));
      body.replaceChildren(
        h(
          "p",
          { class: "muted" },
          `${usage.from.slice(0, 10)} to ${usage.to.slice(0, 10)} (UTC), every key.`,
        ),
        dayChart(days.by_day, days.from, days.to, "characters"),
        totalsTable(
          usage.by_key || [],
          { key: "key_id", label: "Key", name: (id) => label.get(id) || id },
          "Usage by key this month",
        ),
      );
    } catch (err) {
      showError(null, err, box);
    }
  }
  return { element, refresh };
}

function urlList(urls) {
  if (!urls.length) return "";
  return h(
    "ul",
    { class: "engine-urls" },
    urls.map((u) =>
      h(
        "li",
        {},
        h("code", {}, u.url),
        ` ${u.state}; ${u.requests} requests, ${u.failures} failed; ` +
          `p50 ${ms(u.latency_p50_ms)}, p95 ${ms(u.latency_p95_ms)}`,
        u.last_error ? h("span", { class: "error" }, ` ${u.last_error}`) : "",
      ),
    ),
  );
}

function health(engine) {
  if (!engine.available) return h("span", { class: "error" }, "unavailable");
  if (!engine.loaded) return h("span", { class: "muted" }, "not loaded yet");
  return h("span", { class: "ok" }, "healthy");
}

export function enginesCard() {
  const status = h("p", { role: "status" });
  const tbody = h("tbody");
  const box = errorBox();
  const probe = h("button", { type: "button", class: "secondary" }, "Check remote engines now");
  async function refresh(force = false) {
    try {
      const list = await api("/v1/engines", { query: { probe: force ? "true" : "" } });
      status.textContent = `Overall: ${list.status}. Default backend: ${list.default_backend}.`;
      tbody.replaceChildren(
        ...list.engines.map((e) =>
          h(
            "tr",
            { dataset: { engine: e.name } },
            h("th", { scope: "row" }, e.name, e.remote ? h("span", { class: "tag" }, "remote") : ""),
            h("td", {}, e.kind),
            h("td", {}, health(e), e.detail && e.detail !== "not loaded yet" ? ` ${e.detail}` : "",
              urlList(e.urls)),
            h("td", { class: "num" }, ms(e.latency_p50_ms)),
            h("td", { class: "num" }, ms(e.latency_p95_ms)),
            h("td", { class: "num" }, ms(e.latency_p99_ms)),
            h("td", { class: "num" }, String(e.latency_samples)),
          ),
        ),
      );
    } catch (err) {
      showError(null, err, box);
    }
  }
  probe.addEventListener("click", async () => {
    probe.disabled = true;
    await refresh(true);
    probe.disabled = false;
  });
  const element = h(
    "section",
    { class: "card", "aria-labelledby": "engines-title" },
    h("h2", { id: "engines-title" }, "Engines"),
    status,
    h(
      "table",
      {},
      h("caption", { class: "sr-only" }, "Engines, their health and latency percentiles"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Engine", "Kind", "Health", "p50", "p95", "p99", "Recent calls"].map((t) =>
            h("th", { scope: "col", class: t.startsWith("p") || t === "Recent calls" ? "num" : "" }, t),
          ),
        ),
      ),
      tbody,
    ),
    h("p", { class: "hint" }, "Latency over this server process's last 256 calls of each engine."),
    probe,
    box,
  );
  return { element, refresh: () => refresh(false) };
}
