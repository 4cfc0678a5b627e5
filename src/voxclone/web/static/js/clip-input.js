// An audio input for the speech pages (Transcribe, Denoise, Speakers): a file picker and a
// microphone recorder. Chromium's MediaRecorder writes WebM/Opus, which the API does not
// read, so a recording is decoded in the browser and sent as a 16-bit PCM WAV.

import { field, h, seconds } from "./ui.js";

const RECORD_RATE = 16000;
const MAX_RECORD_S = 60;

// clipInput({label, multiple, hint}) -> {element, control, clips(), clear(), destroy()}
// clips() is the chosen files, or the recording(s): what the user did last wins (with
// `multiple`, recordings are added to the chosen files).
export function clipInput({ label = "Audio file", multiple = false, hint } = {}) {
  const control = h("input", { type: "file", accept: "audio/*", name: "audio", multiple });
  const record = h("button", { type: "button", class: "secondary" }, "● Record");
  const stop = h("button", { type: "button", class: "secondary", hidden: true }, "■ Stop");
  const status = h("span", { class: "muted", role: "status" }, "");
  const list = h("ul", { class: "clip-list" });
  let files = [];
  let recordings = [];
  let recorder = null;
  let timer = null;

  function renderList() {
    list.replaceChildren(
      ...recordings.map((clip, i) =>
        h(
          "li",
          {},
          h("audio", { controls: true, src: clip.url, "aria-label": `Recording ${i + 1}` }),
          ` ${clip.file.name} (${seconds(clip.duration)}) `,
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              "aria-label": `Remove recording ${i + 1}`,
              onclick: () => {
                URL.revokeObjectURL(clip.url);
                recordings.splice(i, 1);
                renderList();
              },
            },
            "Remove",
          ),
        ),
      ),
    );
  }

  function forgetRecordings() {
    recordings.forEach((clip) => URL.revokeObjectURL(clip.url));
    recordings = [];
    renderList();
  }

  control.addEventListener("change", () => {
    files = Array.from(control.files || []);
    if (!multiple) forgetRecordings();
  });

  record.addEventListener("click", async () => {
    status.textContent = "";
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      status.textContent = `The microphone is not available: ${err.message}`;
      return;
    }
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (e) => e.data.size && chunks.push(e.data));
    recorder.addEventListener("stop", async () => {
      stream.getTracks().forEach((t) => t.stop());
      clearInterval(timer);
      record.hidden = false;
      stop.hidden = true;
      record.focus();
      try {
        const { wav, duration } = await toWav(new Blob(chunks, { type: recorder.mimeType }));
        const n = multiple ? recordings.length + 1 : 1;
        const file = new File([wav], `recording-${n}.wav`, { type: "audio/wav" });
        if (!multiple) {
          forgetRecordings();
          files = [];
          control.value = "";
        }
        recordings.push({ file, duration, url: URL.createObjectURL(file) });
        renderList();
        status.textContent = `Recorded ${seconds(duration)}.`;
      } catch (err) {
        status.textContent = `The recording could not be read: ${err.message}`;
      }
    });
    const started = performance.now();
    recorder.start(250);
    record.hidden = true;
    stop.hidden = false;
    stop.focus();
    status.textContent = "Recording…";
    timer = setInterval(() => {
      const s = (performance.now() - started) / 1000;
      status.textContent = `Recording… ${seconds(s)}`;
      if (s >= MAX_RECORD_S) stopRecording();
    }, 500);
  });

  function stopRecording() {
    if (recorder && recorder.state !== "inactive") recorder.stop();
  }
  stop.addEventListener("click", stopRecording);

  const element = h(
    "div",
    { class: "clip-input" },
    field(label, control, hint || "A WAV, MP3, FLAC or OGG file, or record with the microphone."),
    h("div", { class: "row" }, record, stop, status),
    list,
  );
  return {
    element,
    control,
    clips: () => [...files, ...recordings.map((r) => r.file)],
    clear() {
      files = [];
      control.value = "";
      forgetRecordings();
      status.textContent = "";
    },
    destroy() {
      clearInterval(timer);
      if (recorder && recorder.state !== "inactive") {
        recorder.stream.getTracks().forEach((t) => t.stop());
      }
      forgetRecordings();
    },
  };
}

// Decode a recording (any format the browser plays) into mono 16-bit PCM WAV bytes.
export async function toWav(blob) {
  const context = new AudioContext({ sampleRate: RECORD_RATE });
  try {
    const audio = await context.decodeAudioData(await blob.arrayBuffer());
    const mono = new Float32Array(audio.length);
    for (let c = 0; c < audio.numberOfChannels; c += 1) {
      const data = audio.getChannelData(c);
      for (let i = 0; i < data.length; i += 1) mono[i] += data[i] / audio.numberOfChannels;
    }
    return { wav: encodeWav(mono, audio.sampleRate), duration: audio.duration };
  } finally {
    context.close();
  }
}

function encodeWav(samples, rate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((ch, i) => view.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i += 1) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return buffer;
}
