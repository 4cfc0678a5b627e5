// Usage figures shared by the Usage and Admin pages: a per-day bar chart (inline SVG, with a
// table as its text alternative) and the totals table of any grouping.

import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

export const METRICS = {
  characters: { label: "Characters", format: (v) => number(v) },
  audio_out_s: { label: "Audio out (s)", format: (v) => v.toFixed(1) },
  audio_in_s: { label: "Audio in (s)", format: (v) => v.toFixed(1) },
  requests: { label: "Requests", format: (v) => number(v) },
  cache_hits: { label: "Cache hits", format: (v) => number(v) },
};

export function number(value) {
  return Number(value || 0).toLocaleString("en-US");
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  children.forEach((c) => el.append(c));
  return el;
}

// Every UTC date from `from` up to `to` (exclusive), no further than today: "2026-12-04".
export function daysOf(from, to) {
  const out = [];
  const end = Math.min(new Date(to).getTime(), Date.now());
  for (let t = new Date(from).getTime(); t < end; t += 86400000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

// A bar per day of `metric` (a key of METRICS) over [from, to): an SVG with an aria-label
// summing it up, and a table of the days that had any activity.
export function dayChart(byDay, from, to, metric = "characters") {
  const info = METRICS[metric];
  const values = new Map((byDay || []).map((d) => [d.day, d]));
  const days = daysOf(from, to);
  const peak = Math.max(0, ...days.map((d) => (values.get(d) || {})[metric] || 0));
  const max = Math.max(peak, 1e-9);
  const width = 720;
  const height = 180;
  const slot = width / Math.max(days.length, 1);
  const barWidth = Math.min(slot * 0.7, 40);
  const bars = days.map((day, i) => {
    const value = (values.get(day) || {})[metric] || 0;
    const bar = Math.round(((height - 24) * value) / max);
    return svg(
      "g",
      {},
      svg(
        "rect",
        {
          x: (i * slot + (slot - barWidth) / 2).toFixed(1),
          y: height - 18 - bar,
          width: barWidth.toFixed(1),
          height: Math.max(bar, value ? 1 : 0),
          class: "usage-bar",
        },
        svg("title", {}, `${day}: ${info.format(value)}`),
      ),
      i % Math.ceil(days.length / 10 || 1) === 0
        ? svg(
            "text",
            { x: (i * slot + slot / 2).toFixed(1), y: height - 4, "text-anchor": "middle" },
            day.slice(5),
          )
        : "",
    );
  });
  const active = days.filter((d) => values.has(d) && values.get(d).requests > 0);
  const total = days.reduce((sum, d) => sum + ((values.get(d) || {})[metric] || 0), 0);
  const summary =
    `${info.label} per day from ${days[0] || "–"} to ${days[days.length - 1] || "–"}: ` +
    `${info.format(total)} in all, on ${active.length} day(s) with activity; ` +
    `the busiest day had ${info.format(peak)}.`;
  const chart = svg(
    "svg",
    {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": summary,
      class: "usage-chart",
      preserveAspectRatio: "none",
    },
    svg("line", { x1: 0, x2: width, y1: height - 18, y2: height - 18, class: "axis" }),
    ...bars,
  );
  const table = totalsTable(
    active.map((d) => values.get(d)),
    { key: "day", label: "Day" },
    "Usage per day (days with activity)",
  );
  return h("div", { class: "usage-days" }, chart, table);
}

// A table of usage rows: `column` names the grouping ({key, label, name(value)}).
export function totalsTable(rows, column, caption) {
  const name = column.name || ((v) => v);
  const metrics = Object.keys(METRICS);
  if (!rows.length) {
    return h("p", { class: "muted" }, `${caption}: nothing yet.`);
  }
  return h(
    "table",
    { class: "usage-table" },
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, column.label),
        metrics.map((m) => h("th", { scope: "col", class: "num" }, METRICS[m].label)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, name(row[column.key])),
          metrics.map((m) => h("td", { class: "num" }, METRICS[m].format(row[m] || 0))),
        ),
      ),
    ),
  );
}
