// One story open for editing: its tracks, the timeline, the clip table, the forms that add
// clips and import a script, and the render panel. Every change goes to the API, then the
// story is fetched again and each part redrawn from what the API says.

import { api } from "./api.js";
import { clipTable } from "./stories-clips.js";
import { addClipForm, scriptForm } from "./stories-forms.js";
import { renderPanel } from "./stories-render.js";
import { timeline } from "./stories-timeline.js";
import { tracksPanel } from "./stories-tracks.js";
import { errorBox, h, seconds, showError } from "./ui.js";

export async function storyEditor(root, ctx, id) {
  const box = errorBox();
  const state = { id, story: null, voices: [], box };
  let story;
  try {
    [story, state.voices] = await Promise.all([api(`/v1/stories/${id}`), api("/v1/voices")]);
  } catch (err) {
    root.append(box);
    showError(null, err, box);
    return undefined;
  }
  state.story = story;
  const summary = h("p", { class: "muted", "data-testid": "story-summary" });
  const parts = [];
  // Fetch the story again and redraw every part (after any change).
  state.refresh = async () => {
    try {
      state.story = await api(`/v1/stories/${id}`);
    } catch (err) {
      showError(null, err, box);
      return;
    }
    paint();
  };
  function paint() {
    const s = state.story;
    summary.textContent =
      `${s.tracks.length} track${s.tracks.length === 1 ? "" : "s"} · ` +
      `${s.clips.length} clip${s.clips.length === 1 ? "" : "s"} · ` +
      `${seconds(s.duration_s)} long` +
      (s.clips.some((c) => !c.rendered) ? " (estimated until rendered)" : "");
    parts.forEach((part) => part.update(s));
  }

  const tracks = tracksPanel(state);
  const lanes = timeline(state);
  const clips = clipTable(state);
  const addClip = addClipForm(state);
  const script = scriptForm(state);
  const renderer = renderPanel(state);
  parts.push(tracks, lanes, clips, addClip, script, renderer);
  root.querySelector("#page-title").textContent = `Story: ${story.name}`;
  root.append(
    h("p", {}, h("a", { href: "#/stories" }, "← All stories"), " ", summary),
    box,
    renderer.element,
    lanes.element,
    clips.element,
    h("div", { class: "grid story-forms" }, addClip.element, script.element),
    tracks.element,
  );
  paint();
  return () => parts.forEach((part) => part.destroy && part.destroy());
}
