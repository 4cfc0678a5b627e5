// An audio input for the speech pages (Transcribe, Denoise, Speakers): a file picker and a
// microphone recorder. Chromium's MediaRecorder writes WebM/Opus, which the API does not
// read, so a recording is decoded in the browser and sent as a 16-bit PCM WAV.

import { field, h, seconds } from "./ui.js";
import { microphone } from "./microphone.js";
import { encodeWav, monoOf } from "./voices-audio.js";

const RECORD_RATE = 16000;

// clipInput({label, multiple, hint}) -> {element, control, clips(), clear(), destroy()}
// clips() is the chosen files, or the recording(s): what the user did last wins (with
// `multiple`, recordings are added to the chosen files).
export function clipInput({ label = "Audio file", multiple = false, hint } = {}) {
  const control = h("input", { type: "file", accept: "audio/*", name: "audio", multiple });
  const mic = microphone({ onRecorded: (blob) => recorded(blob) });
  const { record, stop, status } = mic;
  const list = h("ul", { class: "clip-list" });
  let files = [];
  let recordings = [];

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

  async function recorded(blob) {
    try {
      const { wav, duration } = await toWav(blob);
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
  }

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
      mic.destroy();
      forgetRecordings();
    },
  };
}

// Decode a recording (any format the browser plays) into a mono 16-bit PCM WAV Blob.
export async function toWav(blob) {
  const context = new AudioContext({ sampleRate: RECORD_RATE });
  try {
    const audio = await context.decodeAudioData(await blob.arrayBuffer());
    return { wav: encodeWav(monoOf(audio), audio.sampleRate), duration: audio.duration };
  } finally {
    context.close();
  }
}
