// The phone log: number keys in radio groups, topic type-ahead, a draft kept in this
// tab's sessionStorage until the contact is saved, and saving with one request that a
// lost network does not lose.
const form = document.getElementById("contact-form");
const status = document.getElementById("draft-status");
const draftKey = `uketome:draft:${form.dataset.draftKey}`;
const messages = {
  restored: form.dataset.msgRestored || "下書きを復元しました。",
  offline: form.dataset.msgOffline ||
    "保存できませんでした（ネットワークにつながっていません）。入力はこの画面と下書きに残っています。つながったら、もう一度保存してください。",
  saving: form.dataset.msgSaving || "保存しています…",
  failed: form.dataset.msgFailed || "保存できませんでした。入力を確かめてください。",
};

function say(text) {
  status.textContent = text;
  status.hidden = !text;
}

// --- Loose matching: NFKC, katakana to hiragana, lower case, no spaces ---------------
function searchKey(text) {
  return text
    .normalize("NFKC")
    .replace(/[\u30a1-\u30f6]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0x60))
    .toLowerCase()
    .replace(/\s+/g, "");
}

// --- Radio groups: press 1-9 to choose, then move to the next field ----------------
function focusables() {
  return [...form.querySelectorAll("input, select, textarea, button, summary")].filter(
    (el) => !el.disabled && el.type !== "hidden" && el.offsetParent !== null,
  );
}

function focusAfter(group) {
  const all = focusables();
  const last = [...group.querySelectorAll("input")].pop();
  let index = all.indexOf(last);
  while (index + 1 < all.length && group.contains(all[index + 1])) index += 1;
  const next = all[index + 1];
  if (next) next.focus();
}

for (const group of form.querySelectorAll("fieldset[data-keys]")) {
  group.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const digit = Number.parseInt(event.key, 10);
    if (Number.isNaN(digit)) return;
    const radios = group.querySelectorAll("input[type=radio]");
    const radio = radios[digit - 1];
    if (!radio) return;
    event.preventDefault();
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    focusAfter(group);
  });
}

// --- Topics: type-ahead over the checkboxes (which stay the no-JS fallback) --------
const typeahead = form.querySelector(".typeahead");
const search = document.getElementById("topic-search");
const suggestions = document.getElementById("topic-suggestions");
const chips = document.getElementById("topic-chips");
const checks = document.getElementById("topic-checks");
const boxes = [...checks.querySelectorAll("input[type=checkbox]")];
let active = 0;

function renderChips() {
  chips.replaceChildren(
    ...boxes.filter((box) => box.checked).map((box) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `${box.dataset.label} ×`;
      button.setAttribute("aria-label", `${box.dataset.label} を外す`);
      button.addEventListener("click", () => {
        box.checked = false;
        changed();
        search.focus();
      });
      item.append(button);
      return item;
    }),
  );
}

function matches() {
  const key = searchKey(search.value);
  if (!key) return [];
  return boxes.filter((box) => !box.checked && box.dataset.search.includes(key)).slice(0, 8);
}

function renderSuggestions() {
  const found = matches();
  active = Math.min(active, Math.max(found.length - 1, 0));
  suggestions.replaceChildren(
    ...found.map((box, index) => {
      const option = document.createElement("li");
      option.role = "option";
      option.id = `topic-option-${index}`;
      option.textContent = box.dataset.label;
      option.setAttribute("aria-selected", index === active ? "true" : "false");
      option.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(box);
      });
      return option;
    }),
  );
  suggestions.hidden = found.length === 0;
  search.setAttribute("aria-expanded", found.length ? "true" : "false");
  search.setAttribute("aria-activedescendant", found.length ? `topic-option-${active}` : "");
}

function choose(box) {
  box.checked = true;
  search.value = "";
  active = 0;
  changed();
  renderSuggestions();
}

if (typeahead && search) {
  typeahead.hidden = false;
  checks.hidden = true;
  search.addEventListener("input", () => {
    active = 0;
    renderSuggestions();
  });
  search.addEventListener("keydown", (event) => {
    const found = matches();
    if (event.key === "ArrowDown" && found.length) {
      event.preventDefault();
      active = (active + 1) % found.length;
      renderSuggestions();
    } else if (event.key === "ArrowUp" && found.length) {
      event.preventDefault();
      active = (active - 1 + found.length) % found.length;
      renderSuggestions();
    } else if (event.key === "Enter" && !event.ctrlKey) {
      event.preventDefault();
      if (found[active]) choose(found[active]);
    } else if (event.key === "Backspace" && !search.value) {
      const chosen = boxes.filter((box) => box.checked);
      if (chosen.length) {
        chosen[chosen.length - 1].checked = false;
        changed();
      }
    } else if (event.key === "Escape") {
      search.value = "";
      renderSuggestions();
    }
  });
  search.addEventListener("blur", () => {
    suggestions.hidden = true;
  });
}

// --- Risk: show the alert hint for high and urgent ----------------------------------
const riskHint = document.getElementById("risk-hint");
function showRiskHint() {
  const risk = form.querySelector("input[name=risk_level]:checked");
  const radios = [...form.querySelectorAll("input[name=risk_level]")];
  riskHint.hidden = !risk || radios.indexOf(risk) < 2;
}

// --- Draft ----------------------------------------------------------------------------
function snapshot() {
  const data = {};
  for (const [name, value] of new FormData(form)) {
    if (name === "csrfmiddlewaretoken") continue;
    (data[name] ||= []).push(value);
  }
  return data;
}

function restore(data) {
  for (const el of form.elements) {
    if (!el.name || el.name === "csrfmiddlewaretoken") continue;
    const values = data[el.name] || [];
    if (el.type === "checkbox" || el.type === "radio") {
      el.checked = values.includes(el.value);
    } else if (el.tagName === "SELECT" && el.multiple) {
      for (const option of el.options) option.selected = values.includes(option.value);
    } else if (values.length) {
      el.value = values[0];
    }
  }
}

function saveDraft() {
  try {
    sessionStorage.setItem(draftKey, JSON.stringify(snapshot()));
  } catch {
    // Storage full or blocked: the form itself still holds everything.
  }
}

function changed() {
  renderChips();
  showRiskHint();
  saveDraft();
}

const clientRef = form.querySelector("input[name=client_ref]");
const startedAuto = form.querySelector("input[name=started_at_auto]");
form.querySelector("input[name=started_at]")?.addEventListener("input", () => {
  startedAuto.value = "";
});
const saved = sessionStorage.getItem(draftKey);
const serverHasErrors = form.querySelector(".invalid, .error:not([hidden])");
if (saved && !serverHasErrors) {
  try {
    restore(JSON.parse(saved));
    say(messages.restored);
  } catch {
    sessionStorage.removeItem(draftKey);
  }
}
if (!clientRef.value) clientRef.value = crypto.randomUUID();
form.addEventListener("input", changed);
form.addEventListener("change", changed);
renderChips();
showRiskHint();
saveDraft();
// Start where a call starts: the outcome.
form.querySelector("#group-outcome input:checked, #group-outcome input")?.focus();

// --- Save with one request; keep everything if the network is gone -----------------
function showErrors(errors) {
  for (const el of form.querySelectorAll("[data-error-for]")) {
    el.hidden = true;
    el.textContent = "";
  }
  let first = null;
  for (const [name, list] of Object.entries(errors)) {
    const el = form.querySelector(`[data-error-for="${name}"][hidden]`) ||
      form.querySelector(`[data-error-for="${name}"]`);
    const text = list.join(" ");
    if (el) {
      el.textContent = text;
      el.hidden = false;
      first ||= document.getElementById(`group-${name}`);
      if (el.closest("details")) el.closest("details").open = true;
    } else {
      say(text);
    }
  }
  if (first) first.scrollIntoView({ block: "center" });
}

let sending = false;
async function submit(event) {
  event?.preventDefault();
  if (sending) return;
  sending = true;
  say(messages.saving);
  saveDraft();
  try {
    const response = await fetch(form.action || location.href, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok && body.ok) {
      sessionStorage.removeItem(draftKey);
      location.assign(body.url);
      return;
    }
    say(messages.failed);
    showErrors(body.errors || {});
  } catch {
    say(messages.offline);
  } finally {
    sending = false;
  }
}

form.addEventListener("submit", submit);
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) submit(event);
});
