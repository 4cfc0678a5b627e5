// One voice: its samples (play, add, remove: /v1/voices/{id}/samples), its tags, its export
// archive, and deleting it after a confirmation.

import { api } from "./api.js";
import { clearErrors, errorBox, field, h, seconds, showError, toast, when } from "./ui.js";
import { followFit } from "./voices-new.js";

function sampleRow(voice, sample, count, refresh) {
  const remove = h(
    "button",
    {
      type: "button",
      class: "secondary",
      disabled: count < 2,
      title: count < 2 ? "A voice keeps at least one sample" : null,
      "aria-label": `Remove sample ${sample.position + 1}`,
    },
    "Remove",
  );
  const box = errorBox();
  remove.addEventListener("click", async () => {
    try {
      await api(`/v1/voices/${voice.voice_id}/samples/${sample.sample_id}`, { method: "DELETE" });
      toast("Sample removed.");
      refresh();
    } catch (err) {
      showError(null, err, box);
    }
  });
  const url = `/v1/voices/${voice.voice_id}/samples/${sample.sample_id}/audio`;
  return h(
    "li",
    { class: "sample" },
    h("strong", {}, `Sample ${sample.position + 1}${sample.primary ? " (reference)" : ""}`),
    ` ${seconds(sample.duration_s)}, ${sample.format}, ${sample.sample_rate} Hz `,
    h("audio", {
      controls: true,
      preload: "metadata",
      src: url,
      "aria-label": `Play sample ${sample.position + 1}`,
    }),
    sample.ref_text
      ? h("p", { class: "muted" }, `“${sample.ref_text}”${sample.ref_text_auto ? " (transcribed)" : ""}`)
      : null,
    remove,
    box,
  );
}

function addSampleForm(voice, refresh) {
  const audio = h("input", { type: "file", accept: "audio/*", name: "audio" });
  const refText = h("input", { name: "sample_ref_text", autocomplete: "off" });
  const box = errorBox();
  const add = h("button", { type: "submit" }, "Add sample");
  const form = h(
    "form",
    {
      class: "row",
      "aria-label": "Add a sample",
      onsubmit: async (event) => {
        event.preventDefault();
        clearErrors(form);
        const data = new FormData();
        if (audio.files && audio.files[0]) data.append("audio", audio.files[0]);
        if (refText.value.trim()) data.append("ref_text", refText.value.trim());
        add.disabled = true;
        try {
          await api(`/v1/voices/${voice.voice_id}/samples`, { method: "POST", form: data });
          toast("Sample added.");
          refresh();
        } catch (err) {
          showError(err.field === "ref_text" ? refText : audio, err, box);
        } finally {
          add.disabled = false;
        }
      },
    },
    field("New sample", audio),
    field("Its transcript (optional)", refText),
    add,
    box,
  );
  return form;
}

function tagsForm(voice, refresh) {
  const tags = h("input", { name: "voice_tags", value: voice.tags.join(", "), autocomplete: "off" });
  const box = errorBox();
  const form = h(
    "form",
    {
      class: "row",
      "aria-label": "Edit tags",
      onsubmit: async (event) => {
        event.preventDefault();
        clearErrors(form);
        const list = tags.value.split(",").map((t) => t.trim()).filter(Boolean);
        try {
          await api(`/v1/voices/${voice.voice_id}`, { method: "PATCH", json: { tags: list } });
          toast("Tags saved.");
          refresh();
        } catch (err) {
          showError(tags, err, box);
        }
      },
    },
    field("Tags", tags, "Comma-separated."),
    h("button", { type: "submit" }, "Save tags"),
    box,
  );
  return form;
}

function deleteControls(voice, ctx) {
  const ask = h("button", { type: "button", class: "danger" }, "Delete voice");
  const yes = h("button", { type: "button", class: "danger" }, `Yes, delete ${voice.name}`);
  const no = h("button", { type: "button", class: "secondary" }, "Keep it");
  const confirm = h(
    "div",
    { class: "confirm", hidden: true, role: "group", "aria-label": "Confirm deletion" },
    h("span", {}, `Delete “${voice.name}” and its cached audio? This cannot be undone.`),
    yes,
    no,
  );
  const box = errorBox();
  ask.addEventListener("click", () => {
    confirm.hidden = false;
    ask.hidden = true;
    no.focus();
  });
  no.addEventListener("click", () => {
    confirm.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
  yes.addEventListener("click", async () => {
    try {
      await api(`/v1/voices/${voice.voice_id}`, { method: "DELETE" });
      toast(`${voice.name} deleted.`);
      ctx.navigate("voices");
    } catch (err) {
      showError(null, err, box);
    }
  });
  return h("div", {}, ask, confirm, box);
}

// The detail of voice `id` inside `root`; returns a cleanup.
export async function voiceDetail(root, ctx, id) {
  let stopFollowing = null;
  const body = h("div");
  root.append(
    h("p", {}, h("a", { href: "#/voices" }, "← All voices")),
    body,
  );
  async function refresh() {
    const [voice, samples] = await Promise.all([
      api(`/v1/voices/${id}`),
      api(`/v1/voices/${id}/samples`),
    ]);
    const progress = h("div", { class: "fit-box", hidden: true });
    if (stopFollowing) stopFollowing();
    let job = voice.refitting ? voice.refit_job_id : null;
    if (voice.status === "fitting") job = voice.fit_job_id;
    if (job) stopFollowing = followFit({ ...voice, fit_job_id: job }, progress, refresh);
    const exportLink = h(
      "a",
      { class: "button-link", href: `/v1/voices/${id}/export`, download: `voice-${id}.zip` },
      "Export archive",
    );
    body.replaceChildren(
      h(
        "section",
        { class: "card", "aria-labelledby": "voice-title" },
        h("h2", { id: "voice-title" }, voice.name),
        h(
          "p",
          { class: "muted" },
          `${voice.backend} · ${voice.lang} · ${voice.status} · created ${when(voice.created_at)}`,
        ),
        voice.description ? h("p", {}, voice.description) : null,
        voice.refit_error ? h("p", { class: "error" }, `Last refit failed: ${voice.refit_error}`) : null,
        progress,
        tagsForm(voice, refresh),
        h("div", { class: "row" }, exportLink, h("a", { href: `#/speak?voice=${id}` }, "Speak with it")),
        deleteControls(voice, ctx),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "samples-title" },
        h("h2", { id: "samples-title" }, `Samples (${seconds(samples.total_duration_s)} in all)`),
        h(
          "ul",
          { class: "sample-list" },
          samples.samples.map((s) => sampleRow(voice, s, samples.samples.length, refresh)),
        ),
        addSampleForm(voice, refresh),
      ),
    );
  }
  await refresh();
  return () => {
    if (stopFollowing) stopFollowing();
  };
}
