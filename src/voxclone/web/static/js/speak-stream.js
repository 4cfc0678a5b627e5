// Playing a streamed synthesis as it arrives: WAV or raw PCM through WebAudio (each chunk
// scheduled right after the one before), MP3 through MediaSource. `marks` (an element) gets
// data-first-chunk-at when the first chunk is playing and data-stream-end-at when the body
// ended (performance.now() milliseconds), and data-chunks, the number of network chunks.

import { pcmToWav } from "./voices-audio.js";

// Where the samples start in a streamed WAV, and its rate; null until the header is in.
function wavStart(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  let rate = null;
  while (offset + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(offset, offset + 4));
    const size = view.getUint32(offset + 4, true);
    if (id === "fmt " && offset + 16 <= bytes.length) rate = view.getUint32(offset + 12, true);
    if (id === "data") return { offset: offset + 8, rate };
    offset += 8 + size;
  }
  return null;
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// PCM through WebAudio. `rate`: known for pcm_<rate>, read from the header for WAV.
async function playPcm(reader, { wav, rate, marks, player }) {
  let head = new Uint8Array(0);
  let context = null;
  let at = 0;
  let carry = new Uint8Array(0);
  const chunks = [];
  const schedule = (bytes) => {
    const data = carry.length ? concat(carry, bytes) : bytes;
    const even = data.length - (data.length % 2);
    carry = data.slice(even);
    if (!even) return;
    const pcm = data.slice(0, even);
    chunks.push(pcm);
    const view = new DataView(pcm.buffer);
    const floats = new Float32Array(even / 2);
    for (let i = 0; i < floats.length; i += 1) floats[i] = view.getInt16(i * 2, true) / 32768;
    context = context || new AudioContext({ sampleRate: rate });
    player.context = context;
    const buffer = context.createBuffer(1, floats.length, rate);
    buffer.copyToChannel(floats, 0);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    at = Math.max(at, context.currentTime + 0.02);
    source.start(at);
    at += buffer.duration;
    if (!marks.dataset.firstChunkAt) {
      marks.dataset.firstChunkAt = String(performance.now());
      marks.dataset.playback = "started";
    }
  };
  let headerDone = !wav;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    marks.dataset.chunks = String(Number(marks.dataset.chunks || 0) + 1);
    if (headerDone) {
      schedule(value);
      continue;
    }
    head = concat(head, value);
    const found = wavStart(head);
    if (found) {
      headerDone = true;
      rate = found.rate || rate;
      if (head.length > found.offset) schedule(head.subarray(found.offset));
    }
  }
  return pcmToWav(chunks, rate);
}

function once(target, event) {
  return new Promise((resolve) => target.addEventListener(event, resolve, { once: true }));
}

// MP3 through MediaSource (Chromium plays audio/mpeg from a SourceBuffer).
async function playMp3(reader, { marks, player }) {
  const audio = new Audio();
  const source = new MediaSource();
  audio.src = URL.createObjectURL(source);
  player.audio = audio;
  await once(source, "sourceopen");
  const buffer = source.addSourceBuffer("audio/mpeg");
  const chunks = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    marks.dataset.chunks = String(Number(marks.dataset.chunks || 0) + 1);
    chunks.push(value);
    buffer.appendBuffer(value);
    await once(buffer, "updateend");
    if (chunks.length === 1) {
      audio.addEventListener(
        "playing",
        () => {
          marks.dataset.firstChunkAt = String(performance.now());
          marks.dataset.playback = "started";
        },
        { once: true },
      );
      audio.play();
    }
  }
  if (source.readyState === "open") source.endOfStream();
  return new Blob(chunks, { type: "audio/mpeg" });
}

// Play `response` (a streaming synthesis) as it arrives; resolves to the whole audio as a
// Blob once the body ended. `player.stop()` stops the sound.
export async function playStream(response, { format, marks, player }) {
  const type = response.headers.get("content-type") || "";
  const reader = response.body.getReader();
  player.stop = () => {
    reader.cancel().catch(() => {});
    if (player.context) player.context.close();
    if (player.audio) player.audio.pause();
  };
  let blob;
  if (type.includes("mpeg")) {
    blob = await playMp3(reader, { marks, player });
  } else {
    const rate = Number(format.split("_")[1]) || 24000;
    blob = await playPcm(reader, { wav: type.includes("wav"), rate, marks, player });
  }
  marks.dataset.streamEndAt = String(performance.now());
  marks.dataset.playback = marks.dataset.playback === "started" ? "streamed" : "ended";
  return blob;
}

export function canStreamMp3() {
  return typeof MediaSource !== "undefined" && MediaSource.isTypeSupported("audio/mpeg");
}
