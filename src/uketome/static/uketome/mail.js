// Children's letters: a send button that cannot send twice, and a character count.
// The words come from the page (data-* attributes). Nothing is stored on the device.
for (const form of document.querySelectorAll("form[data-mail-form]")) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent === "yes") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "yes";
    const button = form.querySelector("button[type=submit]");
    if (button) {
      button.setAttribute("aria-disabled", "true");
      button.dataset.label = button.innerHTML;
      if (form.dataset.sending) button.textContent = form.dataset.sending;
    }
  });
}

for (const area of document.querySelectorAll("textarea[data-max]")) {
  const counter = area.parentElement.querySelector("[data-counter]");
  if (!counter) continue;
  const max = Number(area.dataset.max);
  const show = () => {
    const n = area.value.trim().length;
    counter.textContent = area.dataset.countText.replace("{n}", `${n} / ${max}`);
    counter.classList.toggle("over", n > max);
  };
  area.addEventListener("input", show);
  show();
}

// Coming back with the Back button: the form may be sent again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-mail-form]")) {
    delete form.dataset.sent;
    const button = form.querySelector("button[type=submit]");
    if (button?.dataset.label) button.innerHTML = button.dataset.label;
    button?.removeAttribute("aria-disabled");
  }
});
