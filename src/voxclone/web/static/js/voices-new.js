// "New voice": the reference clip (voices-clip.js), the voice's fields, saving it
// (POST /v1/voices), and for an engine that fits (local) the fit's progress, live.

import { api } from "./api.js";
import { clearErrors, errorBox, field, h, showError } from "./ui.js";
import { clipPicker } from "./voices-clip.js";

const POLL_MS = 500;
// Errors about the clip that name no field: shown under the clip's control.
const CLIP_ERRORS = [
  "unusable_reference",
  "audio_duration_out_of_range",
  "invalid_audio",
  "audio_too_large",
];

// Follow the fit job of `voice` in `box` (a <progress> with its fraction) until it ends.
export function followFit(voice, box, onDone) {
  const bar = h("progress", { max: 1, value: 0, "aria-label": `Fitting ${voice.name}` });
  const text = h("span", { class: "muted" }, "Fitting… 0 %");
  box.replaceChildren(h("div", { class: "fit-progress", role: "status" }, bar, " ", text));
  box.hidden = false;
  let timer = null;
  let stopped = false;
  async function poll() {
    if (stopped) return;
    try {
      const job = await api(`/v1/jobs/${voice.fit_job_id}`);
      bar.value = job.progress;
      text.textContent = `Fitting… ${Math.round(job.progress * 100)} %`;
      if (job.status === "ready") {
        text.textContent = `${voice.name} is ready.`;
        box.dataset.fit = "ready";
        onDone();
        return;
      }
      if (job.status === "failed" || job.status === "cancelled") {
        text.textContent = `The fit ${job.status}: ${job.error || "no reason given"}`;
        box.dataset.fit = job.status;
        onDone();
        return;
      }
    } catch (err) {
      text.textContent = err.message;
      return;
    }
    timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// newVoiceCard({backends: {default_backend, backends}, onSaved}) -> {element, destroy}
export function newVoiceCard({ backends, onSaved }) {
  const name = h("input", { name: "name", required: true, autocomplete: "off" });
  const backend = h(
    "select",
    { name: "backend" },
    backends.backends.map((b) =>
      h("option", { value: b, selected: b === backends.default_backend }, b),
    ),
  );
  const lang = h("input", { name: "lang", value: "en", size: 6 });
  const tags = h("input", { name: "tags", autocomplete: "off" });
  const description = h("textarea", { name: "description", rows: 2 });
  const refText = h("textarea", { name: "ref_text", rows: 2 });
  const picker = clipPicker({ backend: () => backend.value, lang: () => lang.value || "en" });
  const save = h("button", { type: "submit" }, "Save voice");
  const box = errorBox();
  const progress = h("div", { class: "fit-box", hidden: true });
  let stopFollowing = null;
  const controls = {
    name,
    backend,
    lang,
    tags,
    description,
    ref_text: refText,
    ref_audio: picker.input,
    reference_audio_url: picker.input,
  };

  async function submit(event) {
    event.preventDefault();
    clearErrors(form);
    const data = new FormData();
    data.append("name", name.value);
    if (picker.hasClip()) data.append("ref_audio", picker.file(), "reference.wav");
    for (const [key, control] of Object.entries({ backend, lang, tags, description })) {
      if (control.value.trim()) data.append(key, control.value.trim());
    }
    if (refText.value.trim()) data.append("ref_text", refText.value.trim());
    save.disabled = true;
    try {
      const voice = await api("/v1/voices", { method: "POST", form: data });
      if (stopFollowing) stopFollowing();
      if (voice.status === "fitting" && voice.fit_job_id) {
        stopFollowing = followFit(voice, progress, () => onSaved(voice));
      } else {
        progress.hidden = false;
        progress.replaceChildren(h("p", { role: "status" }, `${voice.name} is ready.`));
      }
      onSaved(voice);
      [name, tags, description, refText].forEach((c) => {
        c.value = "";
      });
      picker.reset();
    } catch (err) {
      const control = controls[err.field] || (CLIP_ERRORS.includes(err.code) ? picker.input : null);
      showError(control, err, box);
    } finally {
      save.disabled = false;
    }
  }

  const form = h(
    "form",
    { class: "card", onsubmit: submit, "aria-labelledby": "new-voice-title", novalidate: true },
    h("h2", { id: "new-voice-title" }, "New voice"),
    picker.element,
    h(
      "div",
      { class: "grid pair" },
      field("Name", name),
      field("Engine", backend, "local fits Kokoro to the clip (a job); piper clones at once."),
      field("Language", lang, "A language code: en, es, fr…"),
      field("Tags", tags, "Comma-separated, e.g. narrator, calm."),
    ),
    field("Description", description),
    field("Transcript of the clip (optional)", refText, "Left empty, the clip is transcribed."),
    h("div", { class: "row" }, save),
    box,
    progress,
  );
  return {
    element: form,
    destroy() {
      picker.destroy();
      if (stopFollowing) stopFollowing();
    },
  };
}
