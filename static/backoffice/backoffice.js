// Back-office behaviour without inline scripts (the Content-Security-Policy allows
// scripts from this site only).
(function () {
  // <form data-confirm="Question?">: ask before submitting.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
