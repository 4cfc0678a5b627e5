// The clip table: each clip's track, start, trims and gain as controls (the keyboard way to do
// what the timeline does with the mouse), and its removal. A change is a PATCH of the clip;
// the API's message for a refused value shows under that control.

import { api } from "./api.js";
import { fieldOf } from "./api-fields.js";
import { clearErrors, h, seconds, showError, uid } from "./ui.js";

const FIELDS = [
  ["start_s", "Start (s)"],
  ["trim_in_s", "Trim in (s)"],
  ["trim_out_s", "Trim out (s)"],
  ["gain_db", "Gain (dB)"],
];

// A control with its own error slot, labelled for assistive technology by `label`.
function cell(control, label) {
  control.id = uid("clip");
  control.setAttribute("aria-label", label);
  control.setAttribute("aria-describedby", `${control.id}-error`);
  return h(
    "td",
    {},
    control,
    h("p", { class: "error", id: `${control.id}-error`, role: "alert", hidden: true }),
  );
}

function clipRow(state, clip, n) {
  const base = `/v1/stories/${state.id}/clips/${clip.clip_id}`;
  const name = { text: clip.text, upload: "uploaded audio" }[clip.kind] || "history item";
  const who = `clip ${n}`;
  const row = h("tr", { dataset: { clipId: clip.clip_id } });
  const controls = {};
  async function patch(changes, control) {
    clearErrors(row);
    try {
      await api(base, { method: "PATCH", json: changes });
      await state.refresh();
    } catch (err) {
      const named = controls[fieldOf(err).split(".").pop()];
      showError(named || control, err);
    }
  }
  const track = h(
    "select",
    { name: "track_id" },
    state.story.tracks.map((t) =>
      h("option", { value: t.track_id, selected: t.track_id === clip.track_id }, t.name),
    ),
  );
  track.addEventListener("change", () => patch({ track_id: track.value }, track));
  const cells = FIELDS.map(([key, label]) => {
    const value = clip[key];
    const input = h("input", {
      type: "number",
      name: key,
      step: key === "gain_db" ? "0.5" : "0.1",
      value: value === null || value === undefined ? "" : String(Math.round(value * 1000) / 1000),
      placeholder: key === "trim_out_s" ? "the end" : "",
    });
    controls[key] = input;
    input.addEventListener("change", () => {
      const v = input.value.trim() === "" ? null : Number(input.value);
      patch({ [key]: v }, input);
    });
    return cell(input, `${label} of ${who}`);
  });
  const remove = h(
    "button",
    { type: "button", class: "danger", "aria-label": `Remove ${who}` },
    "Remove",
  );
  remove.addEventListener("click", async () => {
    try {
      await api(base, { method: "DELETE" });
      await state.refresh();
    } catch (err) {
      showError(remove, err);
    }
  });
  row.append(
    h("td", {}, h("span", { class: "tag" }, clip.kind), " ", name, h("br"),
      h("span", { class: "muted" },
        `${seconds(clip.start_s)}–${seconds(clip.end_s)}${clip.rendered ? "" : " (estimate)"}`)),
    cell(track, `Track of ${who}`),
    ...cells,
    h("td", {}, remove),
  );
  return row;
}

export function clipTable(state) {
  const body = h("tbody", {});
  const element = h(
    "section",
    { class: "card", "aria-labelledby": "clips-title" },
    h("h2", { id: "clips-title" }, "Clips"),
    h(
      "table",
      { class: "clip-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Clip", "Track", ...FIELDS.map(([, label]) => label), h("span", { class: "sr-only" },
            "Actions")].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      body,
    ),
  );
  return {
    element,
    update(story) {
      body.replaceChildren(...story.clips.map((clip, i) => clipRow(state, clip, i + 1)));
      if (!story.clips.length) {
        body.append(h("tr", {}, h("td", { colspan: "7", class: "muted" }, "No clips yet.")));
      }
    },
  };
}
