// Render a story (POST /v1/stories/{id}/render -> a job), follow the job with a <progress>,
// then play the mix (GET /v1/stories/{id}/audio) and export the project archive.

import { api } from "./api.js";
import { errorBox, field, h, seconds, showError } from "./ui.js";

const POLL_MS = 400;
const DONE = ["ready", "failed", "cancelled"];

export function renderPanel(state) {
  const format = h(
    "select",
    { name: "format" },
    ["wav", "flac", "mp3", "opus"].map((f) => h("option", { value: f }, f.toUpperCase())),
  );
  const start = h("button", { type: "button" }, "Render");
  const progress = h("progress", { max: "1", value: "0", "aria-label": "Render progress" });
  const status = h("p", { class: "muted", role: "status", "data-testid": "render-status" }, "");
  const player = h("div", { class: "story-player" });
  const box = errorBox();
  const exportLink = h(
    "a",
    { class: "button-link", href: `/v1/stories/${state.id}/export`, download: "" },
    "Export project (zip)",
  );
  let timer = null;
  let alive = true;

  function showMix(job) {
    const src = `/v1/stories/${state.id}/audio?render=${encodeURIComponent(job)}`;
    player.replaceChildren(
      h("audio", { controls: true, preload: "metadata", src, "aria-label": "Play the mix" }),
    );
  }

  async function poll(jobId) {
    if (!alive) return;
    let job;
    try {
      job = await api(`/v1/jobs/${jobId}`);
    } catch (err) {
      showError(null, err, box);
      start.disabled = false;
      return;
    }
    progress.value = job.progress;
    const pct = Math.round(job.progress * 100);
    if (!DONE.includes(job.status)) {
      status.textContent = `Rendering… ${pct} % (${job.status})`;
      timer = setTimeout(() => poll(jobId), POLL_MS);
      return;
    }
    start.disabled = false;
    if (job.status === "ready") {
      progress.value = 1;
      status.textContent = `Done: the mix is ${seconds(job.audio_duration_s)} long.`;
      await state.refresh();
      showMix(jobId);
    } else {
      status.textContent = `The render ${job.status}.`;
      showError(null, new Error(job.error || `the render ${job.status}`), box);
    }
  }

  start.addEventListener("click", async () => {
    box.hidden = true;
    start.disabled = true;
    progress.value = 0;
    status.textContent = "Starting the render…";
    try {
      const job = await api(`/v1/stories/${state.id}/render`, {
        method: "POST",
        json: { format: format.value },
      });
      poll(job.job_id);
    } catch (err) {
      start.disabled = false;
      status.textContent = "";
      showError(null, err, box);
    }
  });

  const element = h(
    "section",
    { class: "card", "aria-labelledby": "render-title" },
    h("h2", { id: "render-title" }, "Render and play"),
    h("div", { class: "row" }, field("Render format", format), start, exportLink),
    progress,
    status,
    player,
    box,
  );
  if (state.story.last_render_job_id) {
    status.textContent = "The last render:";
    showMix(state.story.last_render_job_id);
  }
  return {
    element,
    update() {},
    destroy() {
      alive = false;
      clearTimeout(timer);
    },
  };
}
