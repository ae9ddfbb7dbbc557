// Move the progress bar while the job runs; when it ends, reload for the row results.
(function () {
  var section = document.getElementById("job");
  if (section.dataset.finished === "true") { return; }
  function poll() {
    fetch(section.dataset.progressUrl, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        ["status_label", "progress_percent", "rows_done", "rows_succeeded", "rows_failed", "rows_skipped"].forEach(function (f) {
          section.querySelector('[data-field="' + f + '"]').textContent = job[f];
        });
        var bar = section.querySelector(".progress");
        bar.value = job.progress_percent;
        if (job.finished) { setTimeout(function () { window.location.reload(); }, 600); }
        else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
