// The studio shell: sign-in (an API key exchanged for a session cookie), the navigation and a
// hash router that loads each page's module when first visited.

import { api, setCsrf } from "./api.js";
import { clearErrors, errorBox, field, h, showError } from "./ui.js";

// Each page module exports `render(root, ctx)`, which may return a cleanup function.
const PAGES = [
  { path: "voices", title: "Voices", load: () => import("./pages/voices.js") },
  { path: "speak", title: "Speak", load: () => import("./pages/speak.js") },
  { path: "talk", title: "Talk", load: () => import("./pages/talk.js") },
  { path: "history", title: "History", load: () => import("./pages/history.js") },
  { path: "editor", title: "Editor", load: () => import("./pages/editor.js") },
  { path: "stories", title: "Stories", load: () => import("./pages/stories.js") },
  { path: "transcribe", title: "Transcribe", load: () => import("./pages/transcribe.js") },
  { path: "denoise", title: "Denoise", load: () => import("./pages/denoise.js") },
  { path: "speakers", title: "Speakers", load: () => import("./pages/speakers.js") },
  { path: "usage", title: "Usage", load: () => import("./pages/usage.js") },
  { path: "admin", title: "Admin", admin: true, load: () => import("./pages/admin.js") },
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let session = null;
let cleanup = null;
let shown = 0; // which navigation is current: a page that finishes after the next began is dropped

function pagesFor(current) {
  return PAGES.filter((p) => (current.admin ? p.admin : !p.admin));
}

// "#/history?voice=x" -> {path: "history", params: URLSearchParams}
function route() {
  const raw = window.location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?");
  return { path, params: new URLSearchParams(query || "") };
}

export function navigate(path, params) {
  const query = params ? `?${new URLSearchParams(params)}` : "";
  window.location.hash = `#/${path}${query}`;
}

function renderNav() {
  nav.replaceChildren(
    h(
      "ul",
      {},
      pagesFor(session).map((p) =>
        h("li", {}, h("a", { href: `#/${p.path}`, dataset: { page: p.path } }, p.title)),
      ),
    ),
  );
  nav.hidden = false;
  document.getElementById("who").textContent = session.admin
    ? "signed in as admin"
    : `signed in: ${session.label || session.key_id}`;
  document.getElementById("sign-out").hidden = false;
}

async function show() {
  shown += 1;
  const current = shown;
  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      console.warn(err);
    }
    cleanup = null;
  }
  const available = pagesFor(session);
  let { path, params } = route();
  let page = available.find((p) => p.path === path);
  if (!page) {
    page = available[0];
    path = page.path;
    params = new URLSearchParams();
    history.replaceState(null, "", `#/${path}`);
  }
  nav.querySelectorAll("a").forEach((a) => {
    if (a.dataset.page === path) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  document.title = `${page.title} · voxclone studio`;
  const root = h("section", { class: "page", "aria-labelledby": "page-title" });
  root.append(h("h1", { id: "page-title" }, page.title));
  main.replaceChildren(root);
  try {
    const module = await page.load();
    const done = (await module.render(root, { session, params, navigate })) || null;
    if (current !== shown) {
      if (done) done(); // another page was asked for meanwhile: this one is gone
      return;
    }
    cleanup = done;
  } catch (err) {
    if (current !== shown) return;
    const box = errorBox();
    root.append(box);
    showError(null, err, box);
  }
  main.dataset.ready = path;
}

function signInForm() {
  const key = h("input", {
    type: "password",
    name: "api_key",
    autocomplete: "off",
    required: true,
    placeholder: "vx_…",
  });
  const box = errorBox();
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h(
      "p",
      { class: "muted" },
      "Paste an API key. The studio exchanges it for a session cookie and does not keep the key.",
    ),
    field("API key", key),
    h("button", { type: "submit" }, "Sign in"),
    box,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      session = await api("/v1/studio/session", { method: "POST", json: { api_key: key.value } });
      setCsrf(session.csrf_token);
      key.value = "";
      start();
    } catch (err) {
      showError(key, err, box);
    }
  });
  nav.hidden = true;
  main.replaceChildren(form);
  main.dataset.ready = "signin";
  key.focus();
}

function start() {
  renderNav();
  show();
}

async function boot() {
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await api("/v1/studio/session", { method: "DELETE" });
    } finally {
      session = null;
      setCsrf(null);
      document.getElementById("who").textContent = "";
      document.getElementById("sign-out").hidden = true;
      signInForm();
    }
  });
  window.addEventListener("hashchange", () => session && show());
  const current = await api("/v1/studio/session");
  if (current.signed_in) {
    session = current;
    setCsrf(session.csrf_token);
    start();
  } else {
    signInForm();
  }
}

boot();
