// The editor's form as POST /v1/audio/edit operations, and an error of that request traced
// back to the control it is about ("operations.0.trim" -> the End input).

import { fieldOf } from "./api-fields.js";

const value = (input) => (input.value.trim() === "" ? null : Number(input.value));

// -> {list: [operation, ...], controls: [{default, <field>: control}, ...]} in the same order.
// Only what changes something is sent: a trim when the region is not the whole audio, a gain
// that is not 0, fades that are not both 0. Values are sent as typed: the API judges them.
export function editOperations(c, normalize, duration) {
  const list = [];
  const controls = [];
  const add = (op, owners) => {
    list.push(op);
    controls.push(owners);
  };
  const start = value(c.start) ?? 0;
  const end = value(c.end);
  if (start > 0.005 || (end !== null && end < duration - 0.005)) {
    const owners = { default: c.end, start_s: c.start, end_s: c.end };
    add({ op: "trim", start_s: start, end_s: end }, owners);
  }
  const gain = value(c.gain);
  if (gain) add({ op: "gain", db: gain }, { default: c.gain });
  if (normalize) {
    add({ op: "normalize", target_lufs: value(c.lufs) }, { default: c.lufs });
  }
  const fadeIn = value(c.fadeIn) ?? 0;
  const fadeOut = value(c.fadeOut) ?? 0;
  if (fadeIn || fadeOut) {
    const owners = { default: c.fadeIn, in_s: c.fadeIn, out_s: c.fadeOut };
    add({ op: "fade", in_s: fadeIn, out_s: fadeOut }, owners);
  }
  return { list, controls };
}

// The control an error of the edit names, or null (the form's own error box then shows it).
export function fieldControl(err, ops, others) {
  const name = fieldOf(err);
  const match = name.match(/^operations\.(\d+)(?:\.[a-z_]+)?(?:\.([a-z_]+))?/);
  if (match && ops.controls[Number(match[1])]) {
    const owners = ops.controls[Number(match[1])];
    return owners[match[2]] || owners.default;
  }
  return others[name] || null;
}
