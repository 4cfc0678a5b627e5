// The timeline: one lane per track, each clip a button placed by its start time and as wide as
// it plays. Drag a clip to move it; drag its edge handles to trim it (the left handle trims the
// start and keeps the rest where it is). Keyboard: the focused clip moves with the arrow keys
// (0.1 s, Shift 1 s); the clip table below has the same times as number inputs.

import { api } from "./api.js";
import { errorBox, h, seconds, showError } from "./ui.js";

export const PX_PER_S = 40;
const round = (s) => Math.round(s * 1000) / 1000;

function clipLabel(clip) {
  if (clip.kind === "text") return clip.text || "text";
  if (clip.kind === "history") return `history item ${clip.history_id}`;
  return "uploaded audio";
}

export function timeline(state) {
  const box = errorBox();
  const lanes = h("div", { class: "lanes" });
  const element = h(
    "section",
    { class: "card", "aria-labelledby": "timeline-title" },
    h("h2", { id: "timeline-title" }, "Timeline"),
    h(
      "p",
      { class: "hint" },
      "Drag a clip to move it, or its edges to trim it. With the keyboard: focus a clip and " +
        "use ←/→ (Shift: 1 s steps), or type the times in the table below.",
    ),
    h("div", { class: "timeline" }, lanes),
    box,
  );

  async function save(clip, changes) {
    box.hidden = true;
    try {
      const path = `/v1/stories/${state.id}/clips/${clip.clip_id}`;
      await api(path, { method: "PATCH", json: changes });
    } catch (err) {
      showError(null, err, box);
    }
    await state.refresh();
  }

  function block(clip) {
    const width = Math.max((clip.end_s - clip.start_s) * PX_PER_S, 24);
    const label = clipLabel(clip);
    const el = h(
      "button",
      {
        type: "button",
        class: "clip-block",
        style: `left: ${clip.start_s * PX_PER_S}px; width: ${width}px`,
        dataset: { clipId: clip.clip_id },
        "aria-label":
          `${label}, ${seconds(clip.start_s)} to ${seconds(clip.end_s)}. Arrow keys move it.`,
        title: label,
      },
      h("span", { class: "handle in", dataset: { side: "in" }, "aria-hidden": "true" }),
      label,
      h("span", { class: "handle out", dataset: { side: "out" }, "aria-hidden": "true" }),
    );
    let pending = null; // keyboard moves, saved once the keys rest
    el.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      event.preventDefault();
      const step = (event.shiftKey ? 1 : 0.1) * (event.key === "ArrowLeft" ? -1 : 1);
      clip.start_s = round(Math.max(0, clip.start_s + step));
      el.style.left = `${clip.start_s * PX_PER_S}px`;
      clearTimeout(pending);
      pending = setTimeout(async () => {
        await save(clip, { start_s: clip.start_s });
        const again = lanes.querySelector(`[data-clip-id="${clip.clip_id}"]`);
        if (again) again.focus();
      }, 400);
    });
    el.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      el.setPointerCapture(event.pointerId);
      const side = event.target.dataset.side || "move";
      const x0 = event.clientX;
      const left0 = clip.start_s * PX_PER_S;
      let moved = 0;
      const onMove = (e) => {
        moved = (e.clientX - x0) / PX_PER_S;
        if (side === "move") {
          el.style.left = `${Math.max(0, left0 + moved * PX_PER_S)}px`;
        } else if (side === "in") {
          const most = clip.end_s - clip.start_s - 0.05;
          moved = Math.max(-clip.trim_in_s, -clip.start_s, Math.min(moved, most));
          el.style.left = `${left0 + moved * PX_PER_S}px`;
          el.style.width = `${width - moved * PX_PER_S}px`;
        } else {
          moved = Math.max(moved, -(clip.end_s - clip.start_s - 0.05));
          el.style.width = `${width + moved * PX_PER_S}px`;
        }
      };
      const onUp = () => {
        el.removeEventListener("pointermove", onMove);
        el.removeEventListener("pointerup", onUp);
        if (Math.abs(moved) < 0.01) return;
        if (side === "move") {
          save(clip, { start_s: round(Math.max(0, clip.start_s + moved)) });
        } else if (side === "in") {
          save(clip, {
            start_s: round(clip.start_s + moved),
            trim_in_s: round(clip.trim_in_s + moved),
          });
        } else {
          const out = clip.trim_in_s + (clip.end_s - clip.start_s) + moved;
          save(clip, { trim_out_s: round(out) });
        }
      };
      el.addEventListener("pointermove", onMove);
      el.addEventListener("pointerup", onUp);
    });
    return el;
  }

  return {
    element,
    update(story) {
      const extent = Math.max(story.duration_s + 5, 20) * PX_PER_S;
      lanes.style.width = `${extent}px`;
      lanes.replaceChildren(
        ...story.tracks.map((track) =>
          h(
            "div",
            { class: "lane", role: "group", "aria-label": `Lane ${track.name}` },
            h("span", { class: "lane-name" }, track.muted ? `${track.name} (muted)` : track.name),
            story.clips.filter((c) => c.track_id === track.track_id).map(block),
          ),
        ),
      );
    },
  };
}
