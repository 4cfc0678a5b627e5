// Stories: the key's stories (list, create, delete); `#/stories?story=<id>` opens one in the
// story editor (js/stories-story.js: tracks, timeline, clips, script, render, export).

import { api } from "../api.js";
import { storyEditor } from "../stories-story.js";
import { clearErrors, errorBox, field, h, showError, toast, when } from "../ui.js";

function storyRow(story, ctx, box) {
  const row = h("li", { dataset: { storyId: story.story_id } });
  const open = h("a", { href: `#/stories?story=${story.story_id}` }, story.name);
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  const yes = h("button", { type: "button", class: "danger" }, "Yes, delete");
  const no = h("button", { type: "button", class: "secondary" }, "Cancel");
  const confirm = h(
    "span",
    {
      class: "confirm",
      role: "group",
      "aria-label": `Confirm deleting ${story.name}`,
      hidden: true,
    },
    `Delete “${story.name}” and its audio?`,
    yes,
    no,
  );
  remove.setAttribute("aria-label", `Delete ${story.name}`);
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
      await api(`/v1/stories/${story.story_id}`, { method: "DELETE" });
      row.remove();
      toast(`Deleted “${story.name}”.`);
    } catch (err) {
      showError(null, err, box);
    }
  });
  const changed = h("span", { class: "muted" }, `changed ${when(story.updated_at)}`);
  row.append(open, changed, remove, confirm);
  return row;
}

async function storyList(root, ctx) {
  const name = h("input", { name: "name", required: true, placeholder: "The lighthouse" });
  const box = errorBox();
  const listBox = errorBox();
  const list = h("ul", { class: "story-list", "aria-label": "Your stories" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "new-story-title" },
    h("h2", { id: "new-story-title" }, "New story"),
    h("div", { class: "row" }, field("Story name", name),
      h("button", { type: "submit" }, "Create")),
    box,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const story = await api("/v1/stories", { method: "POST", json: { name: name.value } });
      ctx.navigate("stories", { story: story.story_id });
    } catch (err) {
      showError(name, err, box);
    }
  });
  root.append(
    form,
    h(
      "section",
      { class: "card", "aria-labelledby": "stories-title" },
      h("h2", { id: "stories-title" }, "Your stories"),
      list,
      listBox,
    ),
  );
  try {
    const stories = await api("/v1/stories");
    if (!stories.length) list.append(h("li", { class: "muted" }, "No stories yet."));
    stories.forEach((s) => list.append(storyRow(s, ctx, listBox)));
  } catch (err) {
    showError(null, err, listBox);
  }
}

export async function render(root, ctx) {
  const id = ctx.params.get("story");
  if (!id) return storyList(root, ctx);
  return storyEditor(root, ctx, id);
}
