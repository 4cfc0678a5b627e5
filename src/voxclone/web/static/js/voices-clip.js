// The reference clip of a new voice: a file or a microphone recording, its waveform, a trim
// (a draggable region, and two number inputs for the keyboard) and the API's verdict on it
// (POST /v1/voices/check) before the voice is saved.

import { api } from "./api.js";
import { clearErrors, field, h, seconds, showError, waveform } from "./ui.js";
import { microphone } from "./microphone.js";
import { decodeClip, encodeWav, trimmedWav } from "./voices-audio.js";
import RegionsPlugin from "../vendor/wavesurfer/plugins/regions.esm.js";

function describe(verdict) {
  const c = verdict.checks || {};
  const parts = [`${seconds(verdict.duration_s)} long`];
  if (c.speech_s !== undefined) parts.push(`${seconds(c.speech_s)} of speech`);
  if (c.level_dbfs !== undefined) parts.push(`level ${c.level_dbfs} dBFS`);
  if (c.pitch_hz) parts.push(`pitch ${Math.round(c.pitch_hz)} Hz`);
  return parts.join(", ");
}

// clipPicker({backend: () => name, lang: () => code}) -> {element, file(), destroy(), reset()}
export function clipPicker({ backend, lang }) {
  const input = h("input", { type: "file", accept: "audio/*", name: "ref_audio" });
  const mic = microphone({
    onRecorded(blob) {
      input.value = "";
      status.textContent = "Recorded.";
      load(blob);
    },
  });
  const { record, stop, status } = mic;
  const player = h("div", { class: "clip-wave", dataset: { testid: "reference-wave" } });
  const start = h("input", { type: "number", name: "trim_start", min: 0, step: 0.05, value: 0 });
  const end = h("input", { type: "number", name: "trim_end", min: 0, step: 0.05, value: 0 });
  const check = h("button", { type: "button", class: "secondary" }, "Check the clip");
  const verdict = h("p", { class: "verdict", role: "status", "aria-live": "polite" });
  const trimRow = h(
    "div",
    { hidden: true }, // not on .row itself: its display: flex would win over [hidden]
    h("div", { class: "row" }, field("Trim start (s)", start), field("Trim end (s)", end), check),
  );
  let clip = null;
  let ws = null;
  let region = null;

  function bounds() {
    const from = Math.max(0, Math.min(Number(start.value) || 0, clip.duration));
    const to = Math.max(from, Math.min(Number(end.value) || clip.duration, clip.duration));
    return [from, to];
  }

  async function load(blob) {
    clearErrors(element);
    verdict.textContent = "";
    delete verdict.dataset.usable;
    try {
      clip = await decodeClip(blob);
    } catch (err) {
      clip = null;
      showError(input, new Error(`This file could not be read as audio (${err.message}).`));
      return;
    }
    if (ws) ws.destroy();
    const regions = RegionsPlugin.create();
    ws = waveform(player, encodeWav(clip.samples, clip.rate), {
      plugins: [regions],
      label: "Waveform of the reference clip; drag the shaded region's edges to trim it",
    });
    start.value = "0";
    end.value = clip.duration.toFixed(2);
    start.max = end.max = clip.duration.toFixed(2);
    ws.on("decode", () => {
      region = regions.addRegion({
        start: 0,
        end: clip.duration,
        color: "rgba(43, 58, 143, 0.15)",
        drag: false,
        resize: true,
      });
      region.on("update-end", () => {
        start.value = region.start.toFixed(2);
        end.value = region.end.toFixed(2);
        runCheck();
      });
    });
    trimRow.hidden = false;
    await runCheck();
  }

  function onTrimInput() {
    if (!clip) return;
    const [from, to] = bounds();
    if (region) region.setOptions({ start: from, end: to });
    runCheck();
  }
  start.addEventListener("change", onTrimInput);
  end.addEventListener("change", onTrimInput);

  let checks = 0;
  async function runCheck() {
    if (!clip) return;
    checks += 1;
    const mine = checks;
    const form = new FormData();
    form.append("ref_audio", file(), "reference.wav");
    form.append("backend", backend());
    form.append("lang", lang());
    verdict.textContent = "Checking the clip…";
    delete verdict.dataset.usable;
    try {
      const v = await api("/v1/voices/check", { method: "POST", form });
      if (mine !== checks) return; // a newer trim is being checked
      verdict.dataset.usable = String(v.usable);
      if (v.usable) {
        verdict.textContent = `✓ Usable reference: ${describe(v)}.`;
      } else {
        const advice = v.enforced ? "" : ` (advice: ${v.backend} would still accept it)`;
        verdict.textContent = `✗ Not usable: ${v.message}${advice}`;
      }
    } catch (err) {
      verdict.textContent = "";
      showError(input, err);
    }
  }
  check.addEventListener("click", runCheck);

  function file() {
    const [from, to] = bounds();
    return new File([trimmedWav(clip, from, to)], "reference.wav", { type: "audio/wav" });
  }

  input.addEventListener("change", () => {
    if (input.files && input.files[0]) load(input.files[0]);
  });

  const element = h(
    "div",
    { class: "clip-picker" },
    field("Reference audio", input, "A WAV, MP3, FLAC or OGG file of one person speaking, or record one."),
    h("div", { class: "row" }, record, stop, status),
    player,
    trimRow,
    verdict,
  );
  return {
    element,
    input,
    hasClip: () => clip !== null,
    file,
    reset() {
      if (ws) ws.destroy();
      ws = null;
      clip = null;
      region = null;
      input.value = "";
      player.replaceChildren();
      delete player.dataset.duration;
      trimRow.hidden = true;
      verdict.textContent = "";
      status.textContent = "";
    },
    destroy() {
      mic.destroy();
      if (ws) ws.destroy();
    },
  };
}
