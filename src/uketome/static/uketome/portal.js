// Quick exit: the button and the Esc key replace this page with a neutral site, so the
// Back button does not come back here.
const exit = document.getElementById("quick-exit");
function leave(event) {
  event?.preventDefault();
  document.body.textContent = "";
  try {
    history.replaceState(null, "", "/");
  } catch {
    // ignore
  }
  location.replace(exit.href);
}
if (exit) {
  exit.addEventListener("click", leave);
  document.addEventListener("keydown", (event) => {
    // Not the Esc that cancels a kana-kanji conversion (the IME is composing).
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "Escape") leave(event);
  });
}
