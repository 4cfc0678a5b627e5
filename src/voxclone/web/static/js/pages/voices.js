// Voices: the key's voices, a new voice from a file or a recording (trimmed and checked before
// it is saved), importing an exported voice, and, with ?voice=<id>, one voice's detail.

import { api } from "../api.js";
import { clearErrors, errorBox, field, h, showError, toast, when } from "../ui.js";
import { voiceDetail } from "../voices-detail.js";
import { newVoiceCard } from "../voices-new.js";

function statusCell(voice) {
  if (voice.status === "fitting") {
    return h(
      "td",
      {},
      h("progress", { max: 1, value: voice.progress, "aria-label": `${voice.name} fitting` }),
      " fitting",
    );
  }
  return h("td", {}, voice.refitting ? "ready (refitting)" : voice.status);
}

function voiceTable(voices) {
  if (!voices.length) return h("p", { class: "muted" }, "No voices yet: make one below.");
  return h(
    "table",
    { class: "voice-table" },
    h("caption", { class: "sr-only" }, "Your voices"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Name", "Engine", "Language", "Tags", "Status", "Created"].map((t) =>
          h("th", { scope: "col" }, t),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      voices.map((v) =>
        h(
          "tr",
          { dataset: { voiceId: v.voice_id } },
          h("th", { scope: "row" }, h("a", { href: `#/voices?voice=${v.voice_id}` }, v.name)),
          h("td", {}, v.backend),
          h("td", {}, v.lang),
          h("td", {}, v.tags.map((t) => h("span", { class: "tag" }, t))),
          statusCell(v),
          h("td", {}, when(v.created_at)),
        ),
      ),
    ),
  );
}

function importForm(onImported) {
  const archive = h("input", { type: "file", accept: ".zip,application/zip", name: "archive" });
  const refit = h("input", { type: "checkbox", name: "refit" });
  const box = errorBox();
  const form = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "import-title",
      onsubmit: async (event) => {
        event.preventDefault();
        clearErrors(form);
        const data = new FormData();
        if (archive.files && archive.files[0]) data.append("archive", archive.files[0]);
        try {
          const voice = await api("/v1/voices/import", {
            method: "POST",
            form: data,
            query: { refit: refit.checked ? "true" : "" },
          });
          toast(`${voice.name} imported.`);
          archive.value = "";
          onImported(voice);
        } catch (err) {
          showError(archive, err, box);
        }
      },
    },
    h("h2", { id: "import-title" }, "Import a voice"),
    field("Voice archive (.zip)", archive, "A file exported from a voxclone server."),
    h("label", { class: "row" }, refit, " Fit again if the engine's version differs"),
    h("button", { type: "submit" }, "Import"),
    box,
  );
  return form;
}

export async function render(root, ctx) {
  const id = ctx.params.get("voice");
  if (id) return voiceDetail(root, ctx, id);

  const list = h("div", { class: "voice-list" });
  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    const voices = await api("/v1/voices", { query: { limit: 1000 } });
    list.replaceChildren(voiceTable(voices));
    // A voice still fitting: its row's progress moves until the fit ends.
    if (voices.some((v) => v.status === "fitting")) timer = setTimeout(refresh, 1000);
  }
  const backends = await api("/v1/backends");
  const card = newVoiceCard({ backends, onSaved: refresh });
  root.append(
    h(
      "section",
      { class: "card", "aria-labelledby": "voices-title" },
      h("h2", { id: "voices-title" }, "Your voices"),
      list,
    ),
    card.element,
    importForm(refresh),
  );
  await refresh();
  return () => {
    clearTimeout(timer);
    card.destroy();
  };
}
