// Denoise: a file or a recording → DeepFilterNet's cleaned audio (POST /v1/audio/denoise),
// the original and the result side by side as waveforms, and the result to download.

import { request } from "../api.js";
import { clipInput } from "../clip-input.js";
import { clearErrors, download, errorBox, field, h, showError, waveform } from "../ui.js";

const FORMATS = [
  ["", "Same as the input"],
  ["wav", "WAV"],
  ["flac", "FLAC"],
  ["mp3", "MP3"],
  ["ogg", "OGG (Vorbis)"],
];

export function render(root) {
  const clip = clipInput({ label: "Audio file" });
  const format = h(
    "select",
    { name: "format" },
    FORMATS.map(([value, name]) => h("option", { value }, name)),
  );
  const submit = h("button", { type: "submit" }, "Denoise");
  const box = errorBox();
  const result = h("div", { "aria-live": "polite" });
  let waves = [];

  function destroyWaves() {
    waves.forEach((ws) => ws.destroy());
    waves = [];
  }

  function show(input, output, headers, name) {
    destroyWaves();
    const before = h("div", { class: "denoise-player", "data-testid": "original-player" });
    const after = h("div", { class: "denoise-player", "data-testid": "denoised-player" });
    const save = h("button", { type: "button" }, "Download denoised audio");
    save.addEventListener("click", () => download(output, name));
    const ms = headers.get("X-Processing-Time-Ms");
    result.replaceChildren(
      h(
        "div",
        { class: "grid pair" },
        h(
          "section",
          { class: "card", "aria-labelledby": "before-title" },
          h("h2", { id: "before-title" }, "Before"),
          before,
          h("p", { class: "muted" }, input.name),
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "after-title" },
          h("h2", { id: "after-title" }, "After"),
          after,
          h(
            "p",
            { class: "muted" },
            `${Number(headers.get("X-Audio-Duration")).toFixed(2)} s · ` +
              `denoised in ${ms} ms by ${headers.get("X-Backend")}`,
          ),
          save,
        ),
      ),
    );
    waves.push(waveform(before, input, { label: "Waveform of the original audio" }));
    waves.push(waveform(after, output, { label: "Waveform of the denoised audio" }));
  }

  const form = h(
    "form",
    { class: "card", "aria-labelledby": "denoise-title" },
    h("h2", { id: "denoise-title" }, "Noise suppression"),
    h(
      "p",
      { class: "muted" },
      "DeepFilterNet removes background noise; the result is exactly as long as the input.",
    ),
    clip.element,
    field("Output format", format),
    submit,
    box,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(root);
    const [file] = clip.clips();
    if (!file) {
      showError(clip.control, new Error("Choose an audio file or record one first."));
      return;
    }
    const body = new FormData();
    body.append("file", file, file.name);
    if (format.value) body.append("format", format.value);
    submit.disabled = true;
    submit.textContent = "Denoising…";
    try {
      const response = await request("/v1/audio/denoise", { method: "POST", form: body });
      const output = await response.blob();
      const disposition = response.headers.get("Content-Disposition") || "";
      const ext = (disposition.match(/filename="[^"]*\.(\w+)"/) || [])[1] || "wav";
      const base = file.name.replace(/\.[^.]+$/, "");
      show(file, output, response.headers, `${base}-denoised.${ext}`);
    } catch (err) {
      showError(err.field === "format" ? format : clip.control, err, box);
    } finally {
      submit.disabled = false;
      submit.textContent = "Denoise";
    }
  });
  root.append(form, result);
  return () => {
    destroyWaves();
    clip.destroy();
  };
}
