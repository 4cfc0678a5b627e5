// Editor: a history item's audio on a waveform with a region to keep (trim), fades, gain and
// loudness normalisation, saved through POST /v1/audio/edit as a new history item. The region
// has a keyboard alternative: the Start and End number inputs, kept in sync with it.

import RegionsPlugin from "../../vendor/wavesurfer/plugins/regions.esm.js";
import { api } from "../api.js";
import { editOperations, fieldControl } from "../editor-ops.js";
import { clearErrors, errorBox, field, h, seconds, showError, waveform, when } from "../ui.js";

const num = (attrs) => h("input", { type: "number", step: "0.01", inputmode: "decimal", ...attrs });

// Without ?history=: choose an item to edit.
async function picker(root, ctx) {
  const select = h("select", { name: "history" });
  const box = errorBox();
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "pick-title" },
    h("h2", { id: "pick-title" }, "Choose audio to edit"),
    field("History item", select, "Your latest generations; the History page lists them all."),
    h("button", { type: "submit" }, "Open"),
    box,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (select.value) ctx.navigate("editor", { history: select.value });
  });
  root.append(form);
  try {
    const page = await api("/v1/history", { query: { limit: 50 } });
    if (!page.items.length) select.append(h("option", { value: "" }, "Nothing synthesized yet"));
    page.items.forEach((item) =>
      select.append(
        h(
          "option",
          { value: item.history_id },
          `${item.text.slice(0, 50)} (${seconds(item.duration_s)})`,
        ),
      ),
    );
  } catch (err) {
    showError(select, err, box);
  }
}

function savedCard(item) {
  const path = `/v1/history/${item.history_id}/audio`;
  return h(
    "section",
    {
      class: "card saved-edit",
      "aria-labelledby": "saved-title",
      dataset: { historyId: item.history_id },
    },
    h("h2", { id: "saved-title" }, "Saved as a new history item"),
    h("p", {}, `${seconds(item.duration_s)} · ${item.audio_format.toUpperCase()}`),
    h("audio", {
      controls: true,
      preload: "metadata",
      src: path,
      "aria-label": "Play the edited audio",
    }),
    h(
      "p",
      { class: "row" },
      h("a", { href: `#/editor?history=${item.history_id}`, class: "button-link" },
        "Open the new item"),
      h("a", { href: path, download: `${item.history_id}.${item.audio_format}`,
        class: "button-link" }, "Download"),
      h("a", { href: "#/history", class: "button-link" }, "Go to the history"),
    ),
  );
}

export async function render(root, ctx) {
  const id = ctx.params.get("history");
  if (!id) return picker(root, ctx);
  const box = errorBox();
  let item;
  try {
    item = await api(`/v1/history/${encodeURIComponent(id)}`);
  } catch (err) {
    root.append(box);
    showError(null, err, box);
    return undefined;
  }

  const start = num({ name: "start_s", min: "0", value: "0" });
  const end = num({ name: "end_s", min: "0", value: item.duration_s.toFixed(2) });
  const fadeIn = num({ name: "fade_in_s", min: "0", value: "0" });
  const fadeOut = num({ name: "fade_out_s", min: "0", value: "0" });
  const gain = num({ name: "gain_db", step: "0.5", value: "0" });
  const normalize = h("input", { type: "checkbox", name: "normalize" });
  const lufs = num({ name: "target_lufs", step: "0.5", value: "-16" });
  const format = h(
    "select",
    { name: "format" },
    ["wav", "flac", "mp3", "ogg"].map((f) => h("option", { value: f }, f.toUpperCase())),
  );
  const save = h("button", { type: "submit" }, "Save as a new item");
  const playRegion = h("button", { type: "button", class: "secondary" }, "Play the selection");
  const wave = h("div", { class: "editor-wave", "data-testid": "editor-waveform" });
  const result = h("div", { "aria-live": "polite" });
  const controls = { start, end, fadeIn, fadeOut, gain, lufs };

  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "edit-title" },
    h("h2", { id: "edit-title" }, "Edit"),
    h("p", { class: "history-text" }, item.text || h("em", {}, "(no text)")),
    h("p", { class: "muted" },
      [item.voice_name || "no voice", seconds(item.duration_s), when(item.created_at)].join(" · ")),
    wave,
    h(
      "p",
      { class: "hint" },
      "Drag the shaded region or its edges to choose what to keep, or type the times below.",
    ),
    h(
      "div",
      { class: "row editor-numbers" },
      field("Start (s)", start),
      field("End (s)", end),
      playRegion,
    ),
    h(
      "div",
      { class: "row editor-numbers" },
      field("Fade in (s)", fadeIn),
      field("Fade out (s)", fadeOut),
      field("Gain (dB)", gain),
      h("label", { class: "check" }, normalize, "Normalise loudness"),
      field("Target loudness (LUFS)", lufs),
      field("Format", format),
    ),
    save,
    box,
  );
  root.append(form, result);

  const regions = RegionsPlugin.create();
  const ws = waveform(wave, `/v1/history/${encodeURIComponent(id)}/audio`, {
    plugins: [regions],
    label: "Waveform of the audio; the shaded region is what is kept",
    height: 110,
  });
  let region = null;
  const show = (r) => {
    start.value = r.start.toFixed(2);
    end.value = r.end.toFixed(2);
  };
  const ready = new Promise((resolve) => {
    ws.on("ready", (duration) => {
      region = regions.addRegion({
        start: 0,
        end: duration,
        color: "rgba(43, 58, 143, 0.18)",
        drag: true,
        resize: true,
      });
      show(region);
      resolve();
    });
    ws.on("error", resolve);
  });
  regions.on("region-updated", show);

  // Typing a time moves the region, when the times make sense; the API judges the rest.
  function follow() {
    const s = Number(start.value);
    const e = Number(end.value);
    const total = ws.getDuration();
    if (region && start.value !== "" && end.value !== "" && s >= 0 && e > s && e <= total + 0.01) {
      region.setOptions({ start: s, end: Math.min(e, total) });
    }
  }
  start.addEventListener("input", follow);
  end.addEventListener("input", follow);
  playRegion.addEventListener("click", () => region && region.play(true));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const ops = editOperations(controls, normalize.checked, ws.getDuration() || item.duration_s);
    save.disabled = true;
    save.textContent = "Saving…";
    try {
      const body = { source: { history_id: id }, operations: ops.list, format: format.value };
      const made = await api("/v1/audio/edit", { method: "POST", json: body });
      result.replaceChildren(savedCard(made.items[0]));
    } catch (err) {
      showError(fieldControl(err, ops, { format }), err, box);
    } finally {
      save.disabled = false;
      save.textContent = "Save as a new item";
    }
  });

  await ready;
  return () => ws.destroy();
}
