// A story's tracks: rename, gain (dB), mute, remove (with its clips, after a confirmation),
// and add a track. Each change is a PATCH of the track; errors show next to the control.

import { api } from "./api.js";
import { fieldOf } from "./api-fields.js";
import { clearErrors, errorBox, field, h, showError } from "./ui.js";

function trackRow(state, track) {
  const base = `/v1/stories/${state.id}/tracks/${track.track_id}`;
  const name = h("input", { name: "name", value: track.name });
  const gain = h("input", {
    type: "number",
    name: "gain_db",
    step: "0.5",
    value: String(track.gain_db),
  });
  const muted = h("input", { type: "checkbox", name: "muted", checked: track.muted });
  const remove = h("button", { type: "button", class: "danger" }, "Remove track");
  const yes = h("button", { type: "button", class: "danger" }, "Yes, remove");
  const no = h("button", { type: "button", class: "secondary" }, "Cancel");
  const confirm = h(
    "span",
    {
      class: "confirm",
      role: "group",
      "aria-label": `Confirm removing ${track.name}`,
      hidden: true,
    },
    "Remove the track and its clips?",
    yes,
    no,
  );
  const box = errorBox();
  const row = h(
    "div",
    { class: "track-row", role: "group", "aria-label": `Track ${track.name}` },
    field(`Name of track ${track.position + 1}`, name),
    field(`Gain of ${track.name} (dB)`, gain),
    h("label", { class: "check" }, muted, `Mute ${track.name}`),
    remove,
    confirm,
    box,
  );
  async function patch(changes, control) {
    clearErrors(row);
    try {
      await api(base, { method: "PATCH", json: changes });
      await state.refresh();
    } catch (err) {
      showError(control, err, box);
    }
  }
  name.addEventListener("change", () => patch({ name: name.value }, name));
  gain.addEventListener("change", () => patch({ gain_db: Number(gain.value) }, gain));
  muted.addEventListener("change", () => patch({ muted: muted.checked }, muted));
  remove.addEventListener("click", () => {
    remove.hidden = true;
    confirm.hidden = false;
    no.focus();
  });
  no.addEventListener("click", () => {
    confirm.hidden = true;
    remove.hidden = false;
  });
  yes.addEventListener("click", async () => {
    try {
      await api(base, { method: "DELETE" });
      await state.refresh();
    } catch (err) {
      showError(null, err, box);
    }
  });
  return row;
}

export function tracksPanel(state) {
  const rows = h("div", {});
  const name = h("input", { name: "track_name", placeholder: "Music" });
  const box = errorBox();
  const form = h(
    "form",
    { novalidate: true, class: "row" },
    field("New track name", name),
    h("button", { type: "submit" }, "Add track"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await api(`/v1/stories/${state.id}/tracks`, { method: "POST", json: { name: name.value } });
      name.value = "";
      await state.refresh();
    } catch (err) {
      showError(fieldOf(err) === "name" ? name : null, err, box);
    }
  });
  const element = h(
    "section",
    { class: "card", "aria-labelledby": "tracks-title" },
    h("h2", { id: "tracks-title" }, "Tracks"),
    rows,
    form,
    box,
  );
  return {
    element,
    update(story) {
      rows.replaceChildren(...story.tracks.map((t) => trackRow(state, t)));
      if (!story.tracks.length) rows.append(h("p", { class: "muted" }, "No tracks yet."));
    },
  };
}
