// Talk: a spoken conversation with a voice over WebRTC (POST /v1/realtime/calls, OpenAI's
// WebRTC flow). The microphone goes up as an audio track, the answer comes back as one, and the
// session's events (turns, transcripts) arrive on the "oai-events" data channel. Both sides are
// drawn live as scrolling waveforms; the conversation is written out as it is heard.

import { api, request } from "../api.js";
import { clearErrors, errorBox, field, h, showError } from "../ui.js";
import { voiceSelect } from "../voice-select.js";

const LOUD = 0.01; // RMS above which a frame of the answer counts as heard sound

// A scrolling waveform of a live stream: one column per animation frame, its height the peak.
function liveWave(canvas, analyser, onFrame) {
  const ctx = canvas.getContext("2d");
  const data = new Float32Array(analyser.fftSize);
  let stopped = false;
  let last = performance.now();
  function draw(now) {
    if (stopped) return;
    analyser.getFloatTimeDomainData(data);
    let peak = 0;
    let sum = 0;
    for (const v of data) {
      peak = Math.max(peak, Math.abs(v));
      sum += v * v;
    }
    const rms = Math.sqrt(sum / data.length);
    if (onFrame) onFrame(rms, now - last);
    last = now;
    const { width, height } = canvas;
    ctx.drawImage(canvas, -2, 0); // scroll left by two pixels
    ctx.fillStyle = "#eef0f8";
    ctx.fillRect(width - 2, 0, 2, height);
    const bar = Math.max(1, Math.min(1, peak) * height);
    ctx.fillStyle = "#2b3a8f";
    ctx.fillRect(width - 2, (height - bar) / 2, 2, bar);
    requestAnimationFrame(draw);
  }
  requestAnimationFrame(draw);
  return () => {
    stopped = true;
  };
}

export async function render(root) {
  const voices = await api("/v1/voices", { query: { category: "all", limit: 1000 } });
  const voice = voiceSelect(voices);
  const answerer = h(
    "select",
    { name: "model" },
    h("option", { value: "echo" }, "Echo: the voice repeats what you said"),
    h("option", { value: "" }, "The server's language model (if the operator set one up)"),
  );
  const pause = h("input", {
    type: "number",
    name: "silence_duration_ms",
    min: 200,
    max: 3000,
    step: 50,
    value: 500,
  });
  const interrupt = h("input", { type: "checkbox", name: "interrupt_response", checked: true });
  const denoise = h("input", { type: "checkbox", name: "noise_reduction" });
  const start = h("button", { type: "submit" }, "Start talking");
  const hangUp = h("button", { type: "button", class: "secondary", hidden: true }, "Hang up");
  const box = errorBox();
  const status = h(
    "p",
    { class: "muted", role: "status", "aria-live": "polite", dataset: { testid: "talk-status" } },
    "Not connected.",
  );
  const micCanvas = h("canvas", {
    class: "live-wave",
    width: 600,
    height: 64,
    role: "img",
    "aria-label": "Live waveform of your microphone",
  });
  const replyCanvas = h("canvas", {
    class: "live-wave",
    width: 600,
    height: 64,
    role: "img",
    "aria-label": "Live waveform of the voice's answer",
  });
  const speaker = h("audio", { autoplay: true, "aria-label": "The voice's answer" });
  const log = h("ol", { class: "talk-log", "aria-label": "Conversation", "aria-live": "polite" });
  const lines = new Map(); // item id -> the <li> showing its words

  let pc = null;
  let channel = null;
  let location = null;
  let micStream = null;
  let audioCtx = null;
  let stops = [];
  let heardMs = 0;

  function line(itemId, who) {
    let li = lines.get(itemId);
    if (!li) {
      const words = h("span", { class: "words-said" }, "…");
      const name = h("strong", {}, who === "you" ? "You: " : "Voice: ");
      li = h("li", { class: `talk-${who}`, dataset: { item: itemId } }, name, words);
      lines.set(itemId, li);
      log.append(li);
    }
    return li.querySelector(".words-said");
  }

  function onEvent(event) {
    if (!pc) return;
    switch (event.type) {
      case "input_audio_buffer.speech_started":
        status.textContent = "Listening…";
        line(event.item_id, "you");
        break;
      case "conversation.item.input_audio_transcription.completed":
        line(event.item_id, "you").textContent = event.transcript || "(nothing heard)";
        break;
      case "response.output_audio_transcript.delta": {
        const words = line(event.item_id, "voice");
        words.textContent = (words.textContent === "…" ? "" : words.textContent) + event.delta;
        status.textContent = "Answering…";
        break;
      }
      case "response.output_audio_transcript.done":
        line(event.item_id, "voice").textContent = event.transcript;
        break;
      case "conversation.item.truncated":
        line(event.item_id, "voice").parentElement.dataset.interrupted = "true";
        break;
      case "response.done":
        status.textContent = "Listening…";
        break;
      case "error":
        showError(null, new Error(event.error.message), box);
        break;
      default:
    }
  }

  async function stop() {
    const closing = pc;
    pc = null; // from here on, late events and state changes of this call are ignored
    if (channel) channel.onmessage = null;
    channel = null;
    stops.forEach((s) => s());
    stops = [];
    if (location) {
      const url = `${location}/hangup`;
      location = null;
      try {
        await request(url, { method: "POST" });
      } catch (err) {
        if (err.status !== 404) showError(null, err, box); // 404: the call had already ended
      }
    }
    if (closing) closing.close();
    if (micStream) micStream.getTracks().forEach((t) => t.stop());
    micStream = null;
    if (audioCtx) await audioCtx.close();
    audioCtx = null;
    start.disabled = false;
    hangUp.hidden = true;
    status.textContent = "Not connected.";
    delete status.dataset.connected;
  }

  function analyse(stream, canvas, onFrame) {
    const analyser = audioCtx.createAnalyser();
    analyser.fftSize = 1024;
    audioCtx.createMediaStreamSource(stream).connect(analyser);
    stops.push(liveWave(canvas, analyser, onFrame));
  }

  async function begin(event) {
    event.preventDefault();
    clearErrors(form);
    start.disabled = true;
    status.textContent = "Connecting…";
    try {
      micStream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: true },
      });
    } catch (err) {
      start.disabled = false;
      status.textContent = "Not connected.";
      showError(null, new Error(`The microphone is not available: ${err.message}`), box);
      return;
    }
    audioCtx = new AudioContext();
    analyse(micStream, micCanvas);
    const peer = new RTCPeerConnection();
    pc = peer;
    peer.addTrack(micStream.getAudioTracks()[0], micStream);
    peer.addEventListener("track", (e) => {
      const stream = e.streams[0] || new MediaStream([e.track]);
      speaker.srcObject = stream; // Chromium plays remote audio to Web Audio only when attached
      analyse(stream, replyCanvas, (rms, ms) => {
        if (rms > LOUD) {
          heardMs += ms;
          replyCanvas.dataset.heardMs = String(Math.round(heardMs));
        }
      });
    });
    peer.addEventListener("connectionstatechange", () => {
      if (pc !== peer) return; // hung up: this call's last state changes do not matter
      if (peer.connectionState === "connected") {
        status.textContent = "Connected: speak, then pause.";
        status.dataset.connected = "true";
      } else if (["failed", "closed"].includes(peer.connectionState)) {
        showError(null, new Error("The call ended."), box);
        stop();
      }
    });
    channel = peer.createDataChannel("oai-events");
    channel.onmessage = (e) => onEvent(JSON.parse(e.data));
    const offer = await peer.createOffer();
    await peer.setLocalDescription(offer);
    const session = {
      type: "realtime",
      audio: {
        input: {
          turn_detection: {
            type: "server_vad",
            silence_duration_ms: Number(pause.value),
            interrupt_response: interrupt.checked,
          },
          noise_reduction: denoise.checked ? { type: "near_field" } : null,
        },
        output: { voice: voice.value },
      },
    };
    const body = new FormData();
    body.append("sdp", offer.sdp);
    body.append("session", JSON.stringify(session));
    try {
      const response = await request("/v1/realtime/calls", {
        method: "POST",
        form: body,
        query: { model: answerer.value },
      });
      location = response.headers.get("Location");
      await peer.setRemoteDescription({ type: "answer", sdp: await response.text() });
      hangUp.hidden = false;
    } catch (err) {
      await stop();
      const control = { voice, silence_duration_ms: pause }[err.field] || null;
      showError(control, err, box);
    }
  }

  hangUp.addEventListener("click", () => stop());
  const form = h(
    "form",
    { class: "card", onsubmit: begin, "aria-labelledby": "talk-title", novalidate: true },
    h("h2", { id: "talk-title" }, "Talk to a voice"),
    h(
      "p",
      { class: "muted" },
      "Speak and pause; the voice answers. Speak over it to interrupt. Headphones keep the answer out of your microphone.",
    ),
    h(
      "div",
      { class: "grid pair" },
      field("Voice", voice),
      field("Who answers", answerer),
      field("Pause before answering (ms)", pause, "How long a silence ends your turn."),
    ),
    h(
      "div",
      { class: "row" },
      h("label", {}, interrupt, " Let me interrupt the answer"),
      h("label", {}, denoise, " Suppress noise in my microphone"),
    ),
    h("div", { class: "row" }, start, hangUp),
    status,
    box,
  );
  const live = h(
    "section",
    { class: "card", "aria-labelledby": "talk-live-title" },
    h("h2", { id: "talk-live-title" }, "Live"),
    h("p", { class: "muted" }, "You"),
    micCanvas,
    h("p", { class: "muted" }, "The voice"),
    replyCanvas,
    speaker,
    log,
  );
  root.append(form, live);
  return () => {
    stop();
  };
}
