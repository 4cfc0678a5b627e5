// A voice picker: the key's ready voices, then every engine's stock voices (GET /v1/voices?category=all).

import { h } from "./ui.js";

export function voiceSelect(voices, chosen) {
  const option = (v) =>
    h("option", { value: v.voice_id, selected: v.voice_id === chosen }, `${v.name} (${v.backend})`);
  const own = voices.filter((v) => v.category !== "stock" && v.status === "ready");
  const stock = voices.filter((v) => v.category === "stock");
  return h(
    "select",
    { name: "voice" },
    own.length ? h("optgroup", { label: "Your voices" }, own.map(option)) : null,
    h("optgroup", { label: "Stock voices" }, stock.map(option)),
  );
}
