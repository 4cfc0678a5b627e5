// Transcribe: a file or a recording → text with segment (and word) timestamps, via the
// OpenAI-compatible /v1/audio/transcriptions; SRT and VTT come from the same endpoint.

import { api, request } from "../api.js";
import { clipInput } from "../clip-input.js";
import { clearErrors, download, errorBox, field, h, showError } from "../ui.js";

const LANGUAGES = [
  ["", "Detect automatically"],
  ["en", "English"],
  ["de", "German"],
  ["fr", "French"],
  ["es", "Spanish"],
  ["it", "Italian"],
  ["pt", "Portuguese"],
  ["nl", "Dutch"],
  ["pl", "Polish"],
  ["ru", "Russian"],
  ["uk", "Ukrainian"],
  ["tr", "Turkish"],
  ["ja", "Japanese"],
  ["ko", "Korean"],
  ["zh", "Chinese"],
  ["hi", "Hindi"],
  ["ar", "Arabic"],
];

// 12.345 -> "0:12.3"
function stamp(s) {
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

export function render(root) {
  const clip = clipInput({ label: "Audio file" });
  const language = h(
    "select",
    { name: "language" },
    LANGUAGES.map(([code, name]) => h("option", { value: code }, name)),
  );
  const words = h("input", { type: "checkbox", name: "words" });
  const submit = h("button", { type: "submit" }, "Transcribe");
  const box = errorBox();
  const result = h("div", { class: "transcript", "aria-live": "polite" });
  let sent = null; // {file, language} of the transcript shown, for the subtitle downloads

  function formOf(file, format, withWords) {
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("model", "whisper-1");
    form.append("response_format", format);
    if (language.value) form.append("language", language.value);
    if (format === "verbose_json") {
      form.append("timestamp_granularities[]", "segment");
      if (withWords) form.append("timestamp_granularities[]", "word");
    }
    return form;
  }

  async function subtitles(format, button) {
    clearErrors(root);
    button.disabled = true;
    try {
      const response = await request("/v1/audio/transcriptions", {
        method: "POST",
        form: formOf(sent.file, format, false),
      });
      const base = sent.file.name.replace(/\.[^.]+$/, "") || "transcript";
      download(await response.blob(), `${base}.${format}`);
    } catch (err) {
      showError(null, err, box);
    } finally {
      button.disabled = false;
    }
  }

  function show(body, file) {
    sent = { file };
    const srt = h("button", { type: "button", class: "secondary" }, "Download SRT");
    const vtt = h("button", { type: "button", class: "secondary" }, "Download VTT");
    srt.addEventListener("click", () => subtitles("srt", srt));
    vtt.addEventListener("click", () => subtitles("vtt", vtt));
    const segments = body.segments || [];
    const wordList = body.words || [];
    result.replaceChildren(
      h("h2", {}, "Transcript"),
      h(
        "p",
        { class: "muted" },
        `Language: ${body.language} · ${body.duration.toFixed(1)} s of audio · ${file.name}`,
      ),
      h("p", { class: "transcript-text", "data-testid": "transcript-text" }, body.text.trim()),
      h("div", { class: "row" }, srt, vtt),
      h("h3", {}, "Segments"),
      h(
        "table",
        {},
        h("caption", { class: "sr-only" }, "Segments with their start and end times"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Start"),
          h("th", { scope: "col" }, "End"), h("th", { scope: "col" }, "Text"))),
        h(
          "tbody",
          {},
          segments.map((s) =>
            h("tr", {}, h("td", {}, stamp(s.start)), h("td", {}, stamp(s.end)), h("td", {}, s.text.trim())),
          ),
        ),
      ),
      ...(wordList.length
        ? [
            h("h3", {}, "Words"),
            h(
              "ol",
              { class: "words", "aria-label": "Words with their times" },
              wordList.map((w) =>
                h(
                  "li",
                  { title: `${stamp(w.start)}–${stamp(w.end)}` },
                  h("span", { class: "word" }, w.word),
                  h("span", { class: "muted" }, ` ${stamp(w.start)}`),
                ),
              ),
            ),
          ]
        : []),
    );
  }

  const form = h(
    "form",
    { class: "card", "aria-labelledby": "transcribe-title" },
    h("h2", { id: "transcribe-title" }, "Speech to text"),
    clip.element,
    h(
      "div",
      { class: "row" },
      field("Language", language),
      h("label", { class: "check" }, words, " Word timestamps"),
    ),
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
    submit.disabled = true;
    submit.textContent = "Transcribing…";
    try {
      const body = await api("/v1/audio/transcriptions", {
        method: "POST",
        form: formOf(file, "verbose_json", words.checked),
      });
      show(body, file);
    } catch (err) {
      showError(err.field === "language" ? language : clip.control, err, box);
    } finally {
      submit.disabled = false;
      submit.textContent = "Transcribe";
    }
  });
  root.append(form, result);
  return () => clip.destroy();
}
