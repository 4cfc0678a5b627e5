// The forms that add to a story: one clip (text spoken by a voice, synthesised by the API at
// render time, or an uploaded file) and a whole script (POST /v1/stories/{id}/script).

import { api } from "./api.js";
import { fieldOf } from "./api-fields.js";
import { clearErrors, errorBox, field, h, showError } from "./ui.js";

function voiceOptions(voices) {
  return voices.map((v) => h("option", { value: v.voice_id }, v.name));
}

export function addClipForm(state) {
  const track = h("select", { name: "track_id" });
  const kind = h(
    "select",
    { name: "kind" },
    h("option", { value: "text" }, "Text spoken by a voice"),
    h("option", { value: "upload" }, "An audio file"),
  );
  const text = h("textarea", { name: "text", rows: "3" });
  const voice = h("select", { name: "voice_id" }, voiceOptions(state.voices));
  const file = h("input", { type: "file", name: "audio", accept: "audio/*" });
  const start = h("input", {
    type: "number",
    name: "start_s",
    step: "0.1",
    min: "0",
    placeholder: "after the last clip",
  });
  const textFields = h("div", {}, field("Clip text", text), field("Clip voice", voice));
  const fileField = h("div", { hidden: true }, field("Audio file", file));
  const submit = h("button", { type: "submit" }, "Add clip");
  const box = errorBox();
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "add-clip-title" },
    h("h2", { id: "add-clip-title" }, "Add a clip"),
    field("Track", track),
    field("Clip from", kind),
    textFields,
    fileField,
    field("Start at (s)", start, "Leave empty to place it after the story's last clip."),
    submit,
    box,
  );
  kind.addEventListener("change", () => {
    textFields.hidden = kind.value !== "text";
    fileField.hidden = kind.value !== "upload";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const at = start.value.trim() === "" ? state.story.duration_s : Number(start.value);
    const path = `/v1/stories/${state.id}/clips`;
    submit.disabled = true;
    try {
      if (kind.value === "text") {
        const json = { track_id: track.value, text: text.value, voice_id: voice.value };
        json.start_s = at;
        await api(path, { method: "POST", json });
        text.value = "";
      } else {
        if (!file.files.length) {
          throw Object.assign(new Error("Choose an audio file."), { field: "audio" });
        }
        const form = new FormData();
        form.append("audio", file.files[0], file.files[0].name);
        form.append("track_id", track.value);
        form.append("start_s", String(at));
        await api(path, { method: "POST", form });
        file.value = "";
      }
      start.value = "";
      await state.refresh();
    } catch (err) {
      const controls = { track_id: track, text, voice_id: voice, audio: file, start_s: start };
      showError(controls[fieldOf(err)] || null, err, box);
    } finally {
      submit.disabled = false;
    }
  });
  return {
    element: form,
    update(story) {
      const kept = track.value;
      track.replaceChildren(...story.tracks.map((t) => h("option", { value: t.track_id }, t.name)));
      if (story.tracks.some((t) => t.track_id === kept)) track.value = kept;
      if (!story.tracks.length) track.append(h("option", { value: "" }, "Add a track first"));
    },
  };
}

// "NAME: line" at the start of a line names a speaker.
function speakersOf(script) {
  const names = [...script.matchAll(/^\s*([^:[\]\n]{1,40}?)\s*:/gm)].map((m) => m[1].trim());
  return [...new Set(names.filter(Boolean))];
}

export function scriptForm(state) {
  const script = h("textarea", {
    name: "script",
    rows: "6",
    placeholder: "NARRATOR: The lighthouse had been dark.\nMARA: Tom, look! [laughs]",
  });
  const gap = h("input", {
    type: "number",
    name: "gap_s",
    step: "0.1",
    min: "0",
    placeholder: "0.4",
  });
  const cast = h("div", { class: "row" });
  const box = errorBox();
  const selects = new Map();
  const submit = h("button", { type: "submit" }, "Import script");
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "script-title" },
    h("h2", { id: "script-title" }, "Import a script"),
    field("Script", script, "One line per paragraph as NAME: text; [pause 2s] or [laughs] pause."),
    cast,
    field("Gap between lines (s)", gap),
    submit,
    box,
  );
  function castFor() {
    const wanted = speakersOf(script.value);
    for (const name of wanted) {
      if (!selects.has(name)) {
        const select = h("select", { name: `voice-${name}` }, voiceOptions(state.voices));
        selects.set(name, { select, wrap: field(`Voice for ${name}`, select) });
      }
    }
    cast.replaceChildren(...wanted.map((name) => selects.get(name).wrap));
    return wanted;
  }
  script.addEventListener("input", castFor);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const voices = Object.fromEntries(castFor().map((n) => [n, selects.get(n).select.value]));
    const json = { script: script.value, voices };
    if (gap.value.trim() !== "") json.gap_s = Number(gap.value);
    submit.disabled = true;
    try {
      await api(`/v1/stories/${state.id}/script`, { method: "POST", json });
      script.value = "";
      castFor();
      await state.refresh();
    } catch (err) {
      const name = fieldOf(err);
      showError(name === "gap_s" ? gap : script, err, box);
    } finally {
      submit.disabled = false;
    }
  });
  return { element: form, update() {} };
}
