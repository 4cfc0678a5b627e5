// The transcribe page (being built).
import { h } from "../ui.js";

export function render(root) {
  root.append(h("p", { class: "muted" }, "This page is being built."));
}
