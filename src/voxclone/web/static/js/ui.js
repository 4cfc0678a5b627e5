// Small DOM helpers shared by the pages: building elements, labelled fields, errors shown next
// to the control that caused them, waveforms, and the toast.

import WaveSurfer from "../vendor/wavesurfer/wavesurfer.esm.js";

// h("button", {type: "button", onclick: f}, "Save") -> element. Attributes starting with "on"
// are listeners; `dataset`, `hidden`, `disabled`, `value`, `checked` are set as properties.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (["hidden", "disabled", "value", "checked", "selected", "multiple"].includes(key)) {
      el[key] = value;
    } else if (key === "class") {
      el.className = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let nextId = 0;
export function uid(prefix = "f") {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// A labelled control with a slot for its error: field("Text", h("textarea", {name: "text"})).
// Returns the wrapper; the control keeps an aria-describedby pointing at the error slot.
export function field(label, control, hint) {
  const id = control.id || uid(control.name || "field");
  control.id = id;
  const error = h("p", { class: "error", id: `${id}-error`, role: "alert", hidden: true });
  const described = [error.id];
  let hintEl = null;
  if (hint) {
    hintEl = h("p", { class: "hint", id: `${id}-hint` }, hint);
    described.push(hintEl.id);
  }
  control.setAttribute("aria-describedby", described.join(" "));
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl, error);
}

// Show an error under `control` (or in `fallback` when there is no control): the API's own
// message, never a blank page.
export function showError(control, error, fallback) {
  const message = error && error.message ? error.message : String(error);
  const slot = control ? document.getElementById(`${control.id}-error`) : null;
  const target = slot || fallback;
  if (target) {
    target.textContent = message;
    target.hidden = false;
  } else {
    toast(message, true);
  }
  if (control) control.setAttribute("aria-invalid", "true");
}

export function clearErrors(root) {
  root.querySelectorAll(".error").forEach((e) => {
    e.hidden = true;
    e.textContent = "";
  });
  root.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
}

// A form error box for errors that belong to no single control.
export function errorBox() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

let toastTimer = null;
export function toast(message, isError = false) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = isError ? "show error-toast" : "show";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.className = "";
  }, 4000);
}

export function seconds(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const s = Number(value);
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
}

export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString();
}

// A waveform player for `url` (or a Blob) inside `container`, with a labelled play button.
// Returns the WaveSurfer instance (plugins may be passed); the caller destroys it when leaving.
export function waveform(container, source, options = {}) {
  const wave = h("div", { class: "wave", role: "img", "aria-label": options.label || "Waveform" });
  const play = h("button", { type: "button", class: "play", "aria-label": "Play" }, "▶ Play");
  const time = h("span", { class: "muted time" }, "");
  container.replaceChildren(h("div", { class: "player" }, play, time), wave);
  const ws = WaveSurfer.create({
    container: wave,
    height: options.height || 72,
    waveColor: "#7a8bd6",
    progressColor: "#2b3a8f",
    cursorColor: "#1a1a2e",
    normalize: true,
    plugins: options.plugins || [],
  });
  play.addEventListener("click", () => ws.playPause());
  ws.on("play", () => {
    play.textContent = "❚❚ Pause";
    play.setAttribute("aria-label", "Pause");
  });
  ws.on("pause", () => {
    play.textContent = "▶ Play";
    play.setAttribute("aria-label", "Play");
  });
  ws.on("ready", (duration) => {
    time.textContent = seconds(duration);
    container.dataset.duration = String(duration);
  });
  ws.on("error", (err) => showError(null, err, container.querySelector(".error")));
  if (source instanceof Blob) ws.loadBlob(source);
  else if (source) ws.load(source);
  return ws;
}

// Download `blob` as `filename`.
export function download(blob, filename) {
  const a = h("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
