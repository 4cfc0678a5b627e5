// A microphone recorder: a Record and a Stop button and a status line. Recording stops by the
// Stop button or after MAX_RECORD_S; the recording (a Blob in the browser's own format, WebM/Opus
// in Chromium) goes to onRecorded. Used by the reference clip of a new voice and by the clip
// input of the speech pages.

import { h, seconds } from "./ui.js";

const MAX_RECORD_S = 60;

// microphone({onRecorded(blob)}) -> {record, stop, status, destroy()}
export function microphone({ onRecorded }) {
  const record = h("button", { type: "button", class: "secondary" }, "● Record");
  const stop = h("button", { type: "button", class: "secondary", hidden: true }, "■ Stop");
  const status = h("span", { class: "muted", role: "status" }, "");
  let recorder = null;
  let timer = null;

  function stopRecording() {
    if (recorder && recorder.state !== "inactive") recorder.stop();
  }
  stop.addEventListener("click", stopRecording);

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
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((t) => t.stop());
      clearInterval(timer);
      record.hidden = false;
      stop.hidden = true;
      record.focus();
      onRecorded(new Blob(chunks, { type: recorder.mimeType }));
    });
    const began = performance.now();
    recorder.start(250);
    record.hidden = true;
    stop.hidden = false;
    stop.focus();
    status.textContent = "Recording…";
    timer = setInterval(() => {
      const s = (performance.now() - began) / 1000;
      status.textContent = `Recording… ${seconds(s)}`;
      if (s >= MAX_RECORD_S) stopRecording();
    }, 500);
  });

  return {
    record,
    stop,
    status,
    destroy() {
      clearInterval(timer);
      if (recorder && recorder.state !== "inactive") {
        recorder.stream.getTracks().forEach((t) => t.stop());
      }
    },
  };
}
