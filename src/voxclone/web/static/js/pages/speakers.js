// Speakers (voice biometrics): enroll a speaker from one or more clips, list and delete them,
// verify a clip against one speaker, identify the speaker of a clip among all of them.

import { api } from "../api.js";
import { clipInput } from "../clip-input.js";
import { clearErrors, errorBox, field, h, seconds, showError, toast, when } from "../ui.js";

function audioForm(file, extra = {}) {
  const form = new FormData();
  form.append("audio", file, file.name);
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  return form;
}

function card(id, title, ...children) {
  return h(
    "section",
    { class: "card", "aria-labelledby": id },
    h("h2", { id }, title),
    ...children,
  );
}

function busy(button, label) {
  const idle = button.textContent;
  button.disabled = true;
  button.textContent = label;
  return () => {
    button.disabled = false;
    button.textContent = idle;
  };
}

export async function render(root) {
  const inputs = [];
  let speakers = [];

  // --- the list -----------------------------------------------------------------------------
  const tbody = h("tbody");
  const empty = h("p", { class: "muted" }, "No speakers yet: enroll one above.");
  const listBox = errorBox();
  const speakerSelect = h("select", { name: "speaker" });

  async function refresh() {
    speakers = await api("/v1/speakers", { query: { limit: 1000 } });
    empty.hidden = speakers.length > 0;
    tbody.replaceChildren(...speakers.map(row));
    const chosen = speakerSelect.value;
    speakerSelect.replaceChildren(
      h("option", { value: "" }, "Choose a speaker"),
      ...speakers.map((s) =>
        h("option", { value: s.speaker_id, selected: s.speaker_id === chosen }, s.name),
      ),
    );
  }

  function row(s) {
    const remove = h(
      "button",
      { type: "button", class: "danger", "aria-label": `Delete ${s.name}` },
      "Delete",
    );
    remove.addEventListener("click", async () => {
      remove.disabled = true;
      try {
        await api(`/v1/speakers/${s.speaker_id}`, { method: "DELETE" });
        toast(`Deleted ${s.name}`);
        await refresh();
      } catch (err) {
        remove.disabled = false;
        showError(null, err, listBox);
      }
    });
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, s.name),
      h("td", {}, s.enrolled ? `${s.enrollment_count} clip(s)` : "not enrolled"),
      h("td", {}, seconds(s.speech_s)),
      h("td", {}, when(s.created_at)),
      h("td", {}, remove),
    );
  }

  // --- enroll -------------------------------------------------------------------------------
  const name = h("input", { type: "text", name: "name", autocomplete: "off", maxlength: 200 });
  const enrollClips = clipInput({
    label: "Enrollment clips",
    multiple: true,
    hint: "One or more clips of the speaker (WAV, MP3, FLAC or OGG; at least a second of speech each), or record them.",
  });
  inputs.push(enrollClips);
  const enrollButton = h("button", { type: "submit" }, "Enroll");
  const enrollBox = errorBox();
  const enrollForm = h("form", {}, field("Name", name), enrollClips.element, enrollButton, enrollBox);
  enrollForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(enrollForm);
    const [first, ...rest] = enrollClips.clips();
    const done = busy(enrollButton, "Enrolling…");
    let created = null;
    try {
      const form = new FormData();
      form.append("name", name.value);
      if (first) form.append("audio", first, first.name);
      created = await api("/v1/speakers", { method: "POST", form });
      for (const file of rest) {
        await api(`/v1/speakers/${created.speaker_id}/enrollments`, {
          method: "POST",
          form: audioForm(file),
        });
      }
      toast(`Enrolled ${created.name}`);
      name.value = "";
      enrollClips.clear();
    } catch (err) {
      showError(err.field === "name" ? name : enrollClips.control, err, enrollBox);
    } finally {
      done();
      if (created) await refresh();
    }
  });

  // --- verify -------------------------------------------------------------------------------
  const verifyClip = clipInput({ label: "Clip to verify" });
  inputs.push(verifyClip);
  const verifyButton = h("button", { type: "submit" }, "Verify");
  const verifyBox = errorBox();
  const verdict = h("div", { role: "status", class: "verdict" });
  const verifyForm = h(
    "form",
    {},
    field("Speaker", speakerSelect),
    verifyClip.element,
    verifyButton,
    verifyBox,
    verdict,
  );
  verifyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(verifyForm);
    verdict.replaceChildren();
    const [file] = verifyClip.clips();
    if (!speakerSelect.value) {
      showError(speakerSelect, new Error("Choose the speaker to verify against."));
      return;
    }
    if (!file) {
      showError(verifyClip.control, new Error("Choose an audio file or record one first."));
      return;
    }
    const done = busy(verifyButton, "Verifying…");
    try {
      const r = await api(`/v1/speakers/${speakerSelect.value}/verify`, {
        method: "POST",
        form: audioForm(file),
      });
      const who = speakerSelect.selectedOptions[0].textContent;
      verdict.replaceChildren(
        h(
          "p",
          { class: r.match ? "ok verdict-line" : "error verdict-line" },
          r.match ? `Match: this is ${who}.` : `No match: this is not ${who}.`,
        ),
        h(
          "p",
          { class: "muted" },
          `Score ${r.score.toFixed(3)} (threshold ${r.threshold.toFixed(3)}), ` +
            `${seconds(r.speech_s)} of speech.`,
        ),
      );
    } catch (err) {
      const control = err.code === "speaker_not_enrolled" ? speakerSelect : verifyClip.control;
      showError(control, err, verifyBox);
    } finally {
      done();
    }
  });

  // --- identify -----------------------------------------------------------------------------
  const identifyClip = clipInput({ label: "Clip to identify" });
  inputs.push(identifyClip);
  const identifyButton = h("button", { type: "submit" }, "Identify");
  const identifyBox = errorBox();
  const answer = h("div", { role: "status", class: "verdict" });
  const identifyForm = h("form", {}, identifyClip.element, identifyButton, identifyBox, answer);
  identifyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(identifyForm);
    answer.replaceChildren();
    const [file] = identifyClip.clips();
    if (!file) {
      showError(identifyClip.control, new Error("Choose an audio file or record one first."));
      return;
    }
    const done = busy(identifyButton, "Identifying…");
    try {
      const r = await api("/v1/speakers/identify", { method: "POST", form: audioForm(file) });
      const [best, ...others] = r.candidates;
      answer.replaceChildren(
        h(
          "p",
          { class: best ? "ok verdict-line" : "verdict-line" },
          best
            ? `Best match: ${best.name} (score ${best.score.toFixed(3)}).`
            : "No match: none of the enrolled speakers.",
        ),
        h(
          "p",
          { class: "muted" },
          `Threshold ${r.threshold.toFixed(3)}` +
            (others.length
              ? `; also above it: ${others.map((c) => `${c.name} (${c.score.toFixed(3)})`).join(", ")}.`
              : "."),
        ),
      );
    } catch (err) {
      showError(identifyClip.control, err, identifyBox);
    } finally {
      done();
    }
  });

  root.append(
    card("enroll-title", "Enroll a speaker", enrollForm),
    card(
      "list-title",
      "Enrolled speakers",
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Name", "Enrollment", "Speech", "Created", "Actions"].map((t) =>
              h("th", { scope: "col" }, t),
            ),
          ),
        ),
        tbody,
      ),
      empty,
      listBox,
    ),
    h(
      "div",
      { class: "grid pair" },
      card("verify-title", "Verify", h("p", { class: "muted" }, "Is this clip the chosen speaker?"), verifyForm),
      card(
        "identify-title",
        "Identify",
        h("p", { class: "muted" }, "Who among the enrolled speakers is in this clip?"),
        identifyForm,
      ),
    ),
  );
  await refresh();
  return () => inputs.forEach((input) => input.destroy());
}
