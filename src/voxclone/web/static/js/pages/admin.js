// Admin (the admin key only): API keys (create with limits, the new key shown once, edit
// limits, revoke), usage across keys, and the engines with their health and latency.

import { api } from "../api.js";
import { enginesCard, keyUsageCard } from "../admin-panels.js";
import { clearErrors, errorBox, field, h, showError, toast, when } from "../ui.js";

const LIMITS = [
  ["rate_limit_per_minute", "Requests per minute"],
  ["monthly_char_quota", "Characters per period"],
  ["max_concurrent_jobs", "Concurrent jobs"],
  ["history_max_age_days", "History kept (days)"],
];

const DEFAULT = "server default";

// The field an API error names (its own, or the first of a validation error's problems).
function fieldOf(err) {
  const problems = (err.details && err.details.problems) || [];
  return err.field || (problems[0] && problems[0].field) || null;
}

// A form of the label and limits; values() → the JSON body (an empty limit → null).
function keyFields(prefix, key = {}) {
  const inputs = {
    label: h("input", {
      type: "text",
      id: `${prefix}-label`,
      name: "label",
      value: key.label || "",
      maxlength: 200,
    }),
  };
  for (const [name] of LIMITS) {
    const value = key[name];
    inputs[name] = h("input", {
      type: "number",
      id: `${prefix}-${name}`,
      name,
      inputmode: "numeric",
      value: value === null || value === undefined ? "" : String(value),
      placeholder: DEFAULT,
    });
  }
  const fields = [field("Label", inputs.label)].concat(
    LIMITS.map(([name, label]) => field(label, inputs[name])),
  );
  const values = () => {
    const body = { label: inputs.label.value.trim() };
    for (const [name] of LIMITS) {
      const raw = inputs[name].value.trim();
      body[name] = raw === "" ? null : Number(raw);
    }
    return body;
  };
  return { inputs, fields, values };
}

function limitText(key) {
  return LIMITS.map(([name, label]) =>
    h("div", {}, `${label}: `, key[name] === null ? h("span", { class: "muted" }, DEFAULT) : key[name]),
  );
}

export async function render(root) {
  const listBox = errorBox();
  const tbody = h("tbody");
  const shown = h("div", { "aria-live": "polite" });
  const editor = h("div");
  let keys = [];
  const usage = keyUsageCard(() => keys);
  const engines = enginesCard();

  async function refresh() {
    keys = await api("/v1/keys");
    tbody.replaceChildren(...keys.map(row));
    await usage.refresh();
  }

  function row(key) {
    const name = key.label || key.prefix;
    const actions = [];
    if (!key.revoked_at) {
      const edit = h("button", { type: "button", class: "secondary", "aria-label": `Edit ${name}` }, "Edit");
      edit.addEventListener("click", () => openEditor(key));
      const revoke = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${name}` }, "Revoke");
      revoke.addEventListener("click", async () => {
        if (revoke.dataset.armed !== "yes") {
          revoke.dataset.armed = "yes";
          revoke.textContent = "Confirm revoke";
          revoke.setAttribute("aria-label", `Confirm revoke ${name}`);
          return;
        }
        revoke.disabled = true;
        try {
          await api(`/v1/keys/${key.key_id}`, { method: "DELETE" });
          toast(`Revoked ${name}`);
          await refresh();
        } catch (err) {
          revoke.disabled = false;
          showError(null, err, listBox);
        }
      });
      actions.push(edit, " ", revoke);
    }
    return h(
      "tr",
      { dataset: { keyId: key.key_id } },
      h("th", { scope: "row" }, key.label || h("span", { class: "muted" }, "(no label)")),
      h("td", {}, h("code", {}, `${key.prefix}…`)),
      h("td", {}, limitText(key)),
      h("td", {}, when(key.created_at)),
      h("td", {}, key.revoked_at ? `revoked ${when(key.revoked_at)}` : "active"),
      h("td", {}, actions),
    );
  }

  function openEditor(key) {
    const name = key.label || key.prefix;
    const form = keyFields("edit", key);
    const box = errorBox();
    const save = h("button", { type: "submit" }, "Save limits");
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    cancel.addEventListener("click", () => editor.replaceChildren());
    const el = h(
      "form",
      { class: "card", "aria-labelledby": "edit-title", novalidate: true },
      h("h2", { id: "edit-title" }, `Edit ${name}`),
      h("p", { class: "muted" }, "An empty limit goes back to the server's default."),
      h("div", { class: "row" }, form.fields),
      h("div", { class: "row" }, save, cancel),
      box,
    );
    el.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(el);
      try {
        await api(`/v1/keys/${key.key_id}`, { method: "PATCH", json: form.values() });
        toast(`Saved ${name}`);
        editor.replaceChildren();
        await refresh();
      } catch (err) {
        showError(form.inputs[fieldOf(err)] || null, err, box);
      }
    });
    editor.replaceChildren(el);
    form.inputs.label.focus();
  }

  // --- create -------------------------------------------------------------------------------
  const create = keyFields("new");
  const createBox = errorBox();
  const createButton = h("button", { type: "submit" }, "Create key");
  const createForm = h(
    "form",
    { class: "card", "aria-labelledby": "create-title", novalidate: true },
    h("h2", { id: "create-title" }, "Create a key"),
    h("div", { class: "row" }, create.fields),
    createButton,
    createBox,
    shown,
  );
  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(createForm);
    shown.replaceChildren();
    createButton.disabled = true;
    try {
      const issued = await api("/v1/keys", { method: "POST", json: create.values() });
      const copy = h("button", { type: "button", class: "secondary" }, "Copy");
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(issued.api_key);
          toast("Copied");
        } catch {
          toast("Select the key and copy it by hand", true);
        }
      });
      shown.replaceChildren(
        h(
          "div",
          { class: "new-key", role: "status" },
          h("p", {}, h("strong", {}, `New key for ${issued.label || issued.prefix}. `),
            "Copy it now: it is shown once and never again."),
          h("p", {}, h("code", { class: "secret", "data-testid": "new-key" }, issued.api_key), " ", copy),
        ),
      );
      Object.values(create.inputs).forEach((input) => {
        input.value = "";
      });
      await refresh();
    } catch (err) {
      showError(create.inputs[fieldOf(err)] || null, err, createBox);
    } finally {
      createButton.disabled = false;
    }
  });

  root.append(
    createForm,
    h(
      "section",
      { class: "card", "aria-labelledby": "keys-title" },
      h("h2", { id: "keys-title" }, "API keys"),
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Label", "Key", "Limits", "Created", "Status", "Actions"].map((t) =>
              h("th", { scope: "col" }, t),
            ),
          ),
        ),
        tbody,
      ),
      listBox,
    ),
    editor,
    usage.element,
    engines.element,
  );
  await Promise.all([refresh(), engines.refresh()]);
}
