// The Speak page's request as code to copy: curl and Python (httpx), kept in step with the
// form, each with a Copy button (navigator.clipboard, or the text selected to copy by hand).

import { h, toast } from "./ui.js";

function shellQuote(text) {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

// A JSON value written as a Python literal (the body has strings, numbers and objects only).
function python(value, indent = "    ") {
  return JSON.stringify(value, null, 4)
    .replace(/\btrue\b/g, "True")
    .replace(/\bfalse\b/g, "False")
    .replace(/\bnull\b/g, "None")
    .split("\n")
    .join(`\n${indent}`);
}

export function curlOf({ origin, path, query, body, file }) {
  const url = `${origin}${path}?${new URLSearchParams(query)}`;
  return [
    `curl -X POST ${shellQuote(url)} \\`,
    `  -H "X-API-Key: $VOXCLONE_API_KEY" \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(JSON.stringify(body))} \\`,
    `  --output ${file}`,
  ].join("\n");
}

export function pythonOf({ origin, path, query, body, file }) {
  return [
    "import os",
    "",
    "import httpx",
    "",
    "with httpx.stream(",
    '    "POST",',
    `    ${JSON.stringify(origin + path)},`,
    `    params=${python(query)},`,
    '    headers={"X-API-Key": os.environ["VOXCLONE_API_KEY"]},',
    `    json=${python(body)},`,
    "    timeout=120,",
    ") as response:",
    "    response.raise_for_status()",
    `    with open(${JSON.stringify(file)}, "wb") as out:`,
    "        for chunk in response.iter_bytes():  # audio as it is synthesized",
    "            out.write(chunk)",
  ].join("\n");
}

async function copy(pre, label) {
  try {
    await navigator.clipboard.writeText(pre.textContent);
    toast(`${label} copied.`);
  } catch {
    // No clipboard (an insecure origin, or permission refused): select it to copy by hand.
    const range = document.createRange();
    range.selectNodeContents(pre);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    toast("Selected: press Ctrl+C to copy.");
  }
}

// codePanel() -> {element, update(request)}
export function codePanel() {
  const blocks = [
    ["curl", curlOf],
    ["Python", pythonOf],
  ].map(([label, make]) => {
    const pre = h("pre", { class: "code", tabindex: 0, "aria-label": `The request as ${label}` });
    const button = h(
      "button",
      { type: "button", class: "secondary", onclick: () => copy(pre, label) },
      `Copy ${label}`,
    );
    const element = h("div", { class: "code-block" }, h("h3", {}, label), pre, button);
    return { make, pre, element };
  });
  return {
    element: h(
      "section",
      { class: "card code-panel", "aria-labelledby": "code-title" },
      h("h2", { id: "code-title" }, "This request as code"),
      blocks.map((b) => b.element),
    ),
    update(request) {
      blocks.forEach((b) => {
        b.pre.textContent = b.make(request);
      });
    },
  };
}
