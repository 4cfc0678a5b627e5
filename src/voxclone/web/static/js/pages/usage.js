// Usage: this key's current billing period against its quota (GET /v1/usage), a bar per day,
// and the figures per backend, voice and kind of act.

import { api } from "../api.js";
import { METRICS, dayChart, number, totalsTable } from "../usage-view.js";
import { field, h } from "../ui.js";

// "2027-01-01T00:00:00Z" -> "2027-01-01 00:00"
function utc(iso) {
  return new Date(iso).toISOString().slice(0, 16).replace("T", " ");
}

function quotaCard(quota, totals) {
  if (!quota) return null;
  const limited = quota.quota !== null && quota.quota !== undefined;
  const used = quota.used;
  const meter = h("progress", {
    id: "quota-meter",
    max: limited ? Math.max(quota.quota, 1) : 1,
    value: limited ? Math.min(used, quota.quota) : 0,
  });
  const share = limited && quota.quota > 0 ? ` (${((100 * used) / quota.quota).toFixed(1)} %)` : "";
  return h(
    "section",
    { class: "card", "aria-labelledby": "quota-title" },
    h("h2", { id: "quota-title" }, "This period"),
    limited
      ? [
          h("label", { for: "quota-meter" }, "Characters used of the quota"),
          meter,
          h(
            "p",
            { class: "quota-line" },
            `${number(used)} of ${number(quota.quota)} characters used${share}; ` +
              `${number(quota.left)} left.`,
          ),
        ]
      : h("p", { class: "quota-line" }, `${number(used)} characters used; no quota (unlimited).`),
    h(
      "p",
      { class: "muted" },
      `Period ${utc(quota.period_start).slice(0, 10)} to ${utc(quota.period_end).slice(0, 10)} ` +
        `(UTC, end exclusive); resets ${utc(quota.resets_at)} UTC.`,
    ),
    h(
      "dl",
      { class: "totals" },
      Object.entries(METRICS).flatMap(([key, m]) => [
        h("dt", {}, m.label),
        h("dd", { dataset: { metric: key } }, m.format(totals[key] || 0)),
      ]),
    ),
  );
}

async function voiceNames() {
  // Cloned and stock voices, to name the rows of "by voice"; ids stay when this fails.
  try {
    const voices = await api("/v1/voices", { query: { limit: 1000, category: "all" } });
    return new Map((voices.voices || voices).map((v) => [v.voice_id, v.name]));
  } catch {
    return new Map();
  }
}

export async function render(root) {
  const [usage, names] = await Promise.all([
    api("/v1/usage", { query: { group_by: "day,backend,voice,kind" } }),
    voiceNames(),
  ]);
  const metric = h(
    "select",
    { name: "metric" },
    Object.entries(METRICS).map(([key, m]) => h("option", { value: key }, m.label)),
  );
  const chartBox = h("div");
  const drawChart = () =>
    chartBox.replaceChildren(dayChart(usage.by_day, usage.from, usage.to, metric.value));
  metric.addEventListener("change", drawChart);
  drawChart();
  const voiceName = (id) => (id ? names.get(id) || id : "none (speech services)");
  root.append(
    quotaCard(usage.quota, usage.totals) || "",
    h(
      "section",
      { class: "card", "aria-labelledby": "days-title" },
      h("h2", { id: "days-title" }, "Per day"),
      field("Chart shows", metric),
      chartBox,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "groups-title" },
      h("h2", { id: "groups-title" }, "By backend, voice and kind"),
      totalsTable(usage.by_backend || [], { key: "backend", label: "Backend" }, "Usage by backend"),
      totalsTable(
        usage.by_voice || [],
        { key: "voice_id", label: "Voice", name: voiceName },
        "Usage by voice",
      ),
      totalsTable(usage.by_kind || [], { key: "kind", label: "Kind" }, "Usage by kind of act"),
    ),
  );
}
