// Every staff page: on sign-out, forget drafts kept in this tab.
for (const form of document.querySelectorAll("form[data-signout]")) {
  form.addEventListener("submit", () => sessionStorage.clear());
}
