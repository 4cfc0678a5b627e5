// Audio in the browser (Voices, Speak and the recorders of every page): decoding a clip with WebAudio, cutting
// it, and writing 16-bit PCM WAV (the API reads WAV; Chromium records WebM/Opus, which it does not).

// A mono Float32Array of `buffer` (an AudioBuffer): its channels averaged.
export function monoOf(buffer) {
  const mono = new Float32Array(buffer.length);
  for (let c = 0; c < buffer.numberOfChannels; c += 1) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < data.length; i += 1) mono[i] += data[i] / buffer.numberOfChannels;
  }
  return mono;
}

// Decode any clip the browser plays (WAV, MP3, FLAC, OGG, WebM) -> {samples, rate, duration}.
export async function decodeClip(blob) {
  const context = new OfflineAudioContext(1, 1, 44100);
  const buffer = await context.decodeAudioData(await blob.arrayBuffer());
  return { samples: monoOf(buffer), rate: buffer.sampleRate, duration: buffer.duration };
}

function writeText(view, offset, text) {
  for (let i = 0; i < text.length; i += 1) view.setUint8(offset + i, text.charCodeAt(i));
}

// The 44-byte header of a mono 16-bit PCM WAV holding `bytes` of samples.
export function wavHeader(bytes, rate) {
  const view = new DataView(new ArrayBuffer(44));
  writeText(view, 0, "RIFF");
  view.setUint32(4, 36 + bytes, true);
  writeText(view, 8, "WAVE");
  writeText(view, 12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  writeText(view, 36, "data");
  view.setUint32(40, bytes, true);
  return view.buffer;
}

// Float samples in [-1, 1] -> a WAV Blob (mono, 16-bit PCM).
export function encodeWav(samples, rate) {
  const pcm = new DataView(new ArrayBuffer(samples.length * 2));
  for (let i = 0; i < samples.length; i += 1) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    pcm.setInt16(i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([wavHeader(pcm.byteLength, rate), pcm.buffer], { type: "audio/wav" });
}

// 16-bit little-endian PCM chunks (Uint8Arrays) -> a WAV Blob.
export function pcmToWav(chunks, rate) {
  const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
  return new Blob([wavHeader(bytes, rate), ...chunks], { type: "audio/wav" });
}

// The part of a decoded clip between `start` and `end` seconds, as a WAV Blob.
export function trimmedWav(clip, start, end) {
  const from = Math.max(0, Math.floor(start * clip.rate));
  const to = Math.min(clip.samples.length, Math.ceil(end * clip.rate));
  return encodeWav(clip.samples.subarray(from, Math.max(from, to)), clip.rate);
}
