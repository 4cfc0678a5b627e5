// One history item as a list row: its text and facts, a player, and its actions (download,
// star, regenerate, open in the editor, delete after a confirmation). Used by the history page.

import { api } from "./api.js";
import { errorBox, h, seconds, showError, toast, when } from "./ui.js";

function audioPath(item) {
  return `/v1/history/${encodeURIComponent(item.history_id)}/audio`;
}

function starButton(item, box) {
  const button = h("button", { type: "button", class: "secondary star" });
  function paint() {
    button.textContent = item.starred ? "★ Starred" : "☆ Star";
    button.setAttribute("aria-pressed", String(item.starred));
  }
  button.addEventListener("click", async () => {
    box.hidden = true;
    button.disabled = true;
    try {
      const method = item.starred ? "DELETE" : "PUT";
      Object.assign(item, await api(`/v1/history/${item.history_id}/star`, { method }));
      paint();
    } catch (err) {
      showError(null, err, box);
    } finally {
      button.disabled = false;
    }
  });
  paint();
  return button;
}

// "Delete" first asks, in place: "Delete this item? [Delete] [Cancel]".
function deleteControls(item, row, ctx, box) {
  const ask = h("button", { type: "button", class: "danger" }, "Delete");
  const confirm = h("button", { type: "button", class: "danger" }, "Yes, delete");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const question = h(
    "span",
    { class: "confirm", role: "group", "aria-label": "Confirm the deletion", hidden: true },
    h("span", {}, "Delete this item? "),
    confirm,
    cancel,
  );
  ask.addEventListener("click", () => {
    ask.hidden = true;
    question.hidden = false;
    cancel.focus();
  });
  cancel.addEventListener("click", () => {
    question.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    try {
      await api(`/v1/history/${item.history_id}`, { method: "DELETE" });
      toast("Deleted.");
      ctx.removed(row);
    } catch (err) {
      showError(null, err, box);
      question.hidden = true;
      ask.hidden = false;
    } finally {
      confirm.disabled = false;
    }
  });
  return [ask, question];
}

function regenerateButton(item, ctx, box) {
  const button = h("button", { type: "button", class: "secondary" }, "Regenerate");
  button.addEventListener("click", async () => {
    box.hidden = true;
    button.disabled = true;
    button.textContent = "Regenerating…";
    try {
      const made = await api(`/v1/history/${item.history_id}/regenerate`, { method: "POST" });
      ctx.added(made);
      toast("Regenerated: the new take is at the top of the list.");
    } catch (err) {
      showError(null, err, box);
    } finally {
      button.disabled = false;
      button.textContent = "Regenerate";
    }
  });
  return button;
}

export function historyRow(item, ctx) {
  const box = errorBox();
  const row = h("li", { class: "card history-item", dataset: { historyId: item.history_id } });
  const label = item.text.length > 60 ? `${item.text.slice(0, 60)}…` : item.text;
  const facts = [
    item.voice_name ? `${item.voice_name}${item.voice_deleted ? " (deleted)" : ""}` : "no voice",
    seconds(item.duration_s),
    item.audio_format.toUpperCase(),
    item.backend,
    when(item.created_at),
  ];
  const player = h("audio", {
    controls: true,
    preload: "metadata",
    src: audioPath(item),
    "aria-label": `Play: ${label}`,
  });
  const download = h(
    "a",
    {
      class: "button-link secondary",
      href: `${audioPath(item)}`,
      download: `${item.history_id}.${item.audio_format}`,
    },
    "Download",
  );
  const edit = h(
    "a",
    { class: "button-link secondary", href: `#/editor?history=${item.history_id}` },
    "Open in the editor",
  );
  row.append(
    h("p", { class: "history-text" }, item.text || h("em", {}, "(no text)")),
    h(
      "p",
      { class: "muted" },
      facts.join(" · "),
      " ",
      h("span", { class: "tag" }, item.entry),
      item.cache_hit ? h("span", { class: "tag" }, "cache hit") : null,
    ),
    player,
    h(
      "div",
      { class: "row actions" },
      starButton(item, box),
      download,
      regenerateButton(item, ctx, box),
      edit,
      ...deleteControls(item, row, ctx, box),
    ),
    box,
  );
  return row;
}
