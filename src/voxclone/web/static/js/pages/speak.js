// Speak: text to speech with one of the key's voices (or a stock voice), played as it streams
// (POST /v1/text-to-speech/{voice}/stream), then shown as a waveform to replay and download;
// the same request as curl and Python to copy. The API's errors show next to their control.

import { api, request } from "../api.js";
import { clearErrors, download, errorBox, field, h, showError, waveform } from "../ui.js";
import { codePanel } from "../speak-code.js";
import { canStreamMp3, playStream } from "../speak-stream.js";
import { voiceSelect } from "../voice-select.js";

const FORMATS = [
  ["wav", "WAV"],
  ["mp3_44100_128", "MP3 (44.1 kHz, 128 kb/s)"],
  ["pcm_24000", "Raw PCM (24 kHz, saved as WAV)"],
];

export async function render(root, ctx) {
  const [voices, backends] = await Promise.all([
    api("/v1/voices", { query: { category: "all", limit: 1000 } }),
    api("/v1/backends"),
  ]);
  const text = h("textarea", { name: "text", rows: 5 });
  const voice = voiceSelect(voices, ctx.params.get("voice"));
  const engine = h(
    "select",
    { name: "engine" },
    h("option", { value: "" }, "The voice's own engine"),
    backends.backends.map((b) => h("option", { value: b }, b)),
  );
  const speed = h("input", { type: "number", name: "speed", min: 0.25, max: 4, step: 0.05, value: 1 });
  const format = h(
    "select",
    { name: "format" },
    FORMATS.filter(([v]) => v !== "mp3_44100_128" || canStreamMp3()).map(([v, label]) =>
      h("option", { value: v }, label),
    ),
  );
  const speak = h("button", { type: "submit" }, "Speak");
  const stop = h("button", { type: "button", class: "secondary", hidden: true }, "Stop");
  const box = errorBox();
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const result = h("div", { class: "speak-result", dataset: { testid: "speak-result" } });
  const save = h("button", { type: "button", class: "secondary", hidden: true }, "Download");
  const code = codePanel();
  const controls = { text, voice_id: voice, model_id: engine, output_format: format, speed };
  let ws = null;
  let player = {};
  let audio = null;

  function requestOf() {
    const body = { text: text.value };
    if (engine.value) body.model_id = engine.value;
    if (Number(speed.value) !== 1) body.voice_settings = { speed: Number(speed.value) };
    const ext = format.value.split("_")[0]; // wav, mp3, pcm
    return {
      origin: window.location.origin,
      path: `/v1/text-to-speech/${encodeURIComponent(voice.value)}/stream`,
      query: { output_format: format.value },
      body,
      file: `speech.${ext}`,
    };
  }
  const refreshCode = () => code.update(requestOf());
  [text, voice, engine, speed, format].forEach((c) => c.addEventListener("input", refreshCode));
  refreshCode();

  function controlFor(err) {
    if (err.field && controls[err.field]) return controls[err.field];
    if (err.field === "voice_settings.speed" || err.field === "speed") return speed;
    if (["quota_exceeded", "invalid_text", "nothing_to_speak"].includes(err.code)) return text;
    if (err.code === "not_found" || err.code === "stock_voice_read_only") return voice;
    if (err.code === "unknown_backend" || err.code === "invalid_request") return engine;
    return null;
  }

  async function submit(event) {
    event.preventDefault();
    clearErrors(form);
    if (player.stop) player.stop();
    if (ws) ws.destroy();
    ws = null;
    audio = null;
    save.hidden = true;
    result.replaceChildren();
    delete result.dataset.duration;
    for (const k of ["firstChunkAt", "streamEndAt", "chunks", "playback", "historyId"]) {
      delete status.dataset[k];
    }
    const req = requestOf();
    speak.disabled = true;
    status.textContent = "Synthesizing…";
    try {
      const response = await request(req.path, { method: "POST", json: req.body, query: req.query });
      stop.hidden = false;
      player = {};
      const history = response.headers.get("X-History-Id");
      const blob = await playStream(response, { format: format.value, marks: status, player });
      audio = blob;
      const backend = response.headers.get("X-Backend");
      const cached = response.headers.get("X-Cache") === "HIT" ? "from the cache" : "synthesized";
      const item = history ? `, history item ${history}` : "";
      status.textContent = `Done: ${backend}, ${cached}${item}.`;
      if (history) status.dataset.historyId = history;
      ws = waveform(result, blob, { label: "Waveform of the spoken text" });
      save.hidden = false;
    } catch (err) {
      status.textContent = "";
      showError(controlFor(err), err, box);
    } finally {
      speak.disabled = false;
      stop.hidden = true;
    }
  }

  stop.addEventListener("click", () => player.stop && player.stop());
  save.addEventListener("click", () => {
    if (audio) download(audio, audio.type === "audio/mpeg" ? "speech.mp3" : "speech.wav");
  });

  const form = h(
    "form",
    { class: "card", onsubmit: submit, "aria-labelledby": "speak-form-title", novalidate: true },
    h("h2", { id: "speak-form-title" }, "Text to speech"),
    field("Text", text),
    h(
      "div",
      { class: "grid pair" },
      field("Voice", voice),
      field("Engine", engine, "Another engine than the voice's own, if it can speak it."),
      field("Speed", speed, "0.25 to 4; 1 is the voice's own pace."),
      field("Format", format),
    ),
    h("div", { class: "row" }, speak, stop),
    box,
    status,
    result,
    save,
  );
  root.append(form, code.element);
  return () => {
    if (player.stop) player.stop();
    if (ws) ws.destroy();
  };
}
