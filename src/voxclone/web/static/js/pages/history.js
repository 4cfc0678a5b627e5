// History: the key's generations, newest first (GET /v1/history), with search, filters and
// cursor paging; each row plays, downloads, stars, regenerates, opens in the editor, deletes.

import { api } from "../api.js";
import { fieldOf } from "../api-fields.js";
import { historyRow } from "../history-row.js";
import { clearErrors, errorBox, field, h, showError } from "../ui.js";

// A date input's day as the start of that day in the person's own time zone, as ISO 8601.
function dayStart(value, plusDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

export async function render(root, ctx) {
  const search = h("input", { type: "search", name: "search", placeholder: "Words in the text" });
  const voice = h("select", { name: "voice_id" }, h("option", { value: "" }, "All voices"));
  const starred = h("input", { type: "checkbox", name: "starred" });
  const since = h("input", { type: "date", name: "since" });
  const until = h("input", { type: "date", name: "until" });
  const size = h(
    "select",
    { name: "limit" },
    [10, 20, 50].map((n) => h("option", { value: String(n), selected: n === 20 }, String(n))),
  );
  const box = errorBox();
  const list = h("ul", { class: "history-list", "aria-label": "History items" });
  const status = h("p", { class: "muted", role: "status" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  let cursor = null;
  let loading = null;

  const filters = h(
    "form",
    { class: "card", role: "search", "aria-label": "Filter the history" },
    h(
      "div",
      { class: "row" },
      field("Search", search),
      field("Voice", voice),
      field("From", since, "Made on or after this day"),
      field("To", until, "Made on or before this day"),
      field("Per page", size),
      h("label", { class: "check" }, starred, "Starred only"),
      h("button", { type: "submit" }, "Apply"),
    ),
    box,
  );

  function query() {
    return {
      search: search.value.trim(),
      voice_id: voice.value,
      starred: starred.checked ? "true" : "",
      since: dayStart(since.value),
      until: dayStart(until.value, 1), // "To" includes its day; the API's until is exclusive
      limit: size.value,
    };
  }

  let hasMore = false;
  function count() {
    const shown = list.children.length;
    status.textContent = shown
      ? `${shown} item${shown === 1 ? "" : "s"} shown${hasMore ? "; there are more" : ""}.`
      : "Nothing here yet: what you synthesize appears in this list.";
  }
  const rowCtx = {
    navigate: ctx.navigate,
    removed(row) {
      row.remove();
      count();
    },
    added(item) {
      list.prepend(historyRow(item, rowCtx));
      count();
    },
  };

  async function load(reset) {
    clearErrors(filters);
    const asked = { ...query(), cursor: reset ? null : cursor };
    const mine = (loading = Symbol("load"));
    status.textContent = "Loading…";
    try {
      const page = await api("/v1/history", { query: asked });
      if (mine !== loading) return;
      if (reset) list.replaceChildren();
      page.items.forEach((item) => list.append(historyRow(item, rowCtx)));
      cursor = page.next_cursor;
      hasMore = page.has_more;
      more.hidden = !hasMore;
      count();
    } catch (err) {
      status.textContent = "";
      const control = { since, until, search, voice_id: voice, limit: size }[fieldOf(err)];
      showError(control || null, err, box);
    }
  }

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    load(true);
  });
  starred.addEventListener("change", () => load(true));
  voice.addEventListener("change", () => load(true));
  size.addEventListener("change", () => load(true));
  more.addEventListener("click", () => load(false));

  root.append(filters, status, list, more);
  try {
    const voices = await api("/v1/voices");
    voices.forEach((v) => voice.append(h("option", { value: v.voice_id }, v.name)));
    if (ctx.params.get("voice")) voice.value = ctx.params.get("voice");
  } catch (err) {
    showError(voice, err, box);
  }
  await load(true);
}
