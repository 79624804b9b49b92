// The dossier page's "Afdrukken" button (shown only with JavaScript; without it the browser's own print works).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
