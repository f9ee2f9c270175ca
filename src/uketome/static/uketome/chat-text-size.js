// Larger text on the chat page: kept in this page only (nothing stored on the device).
const button = document.getElementById("larger-text");
if (button) {
  button.addEventListener("click", () => {
    const on = document.documentElement.classList.toggle("larger-text");
    button.setAttribute("aria-pressed", on ? "true" : "false");
  });
}
