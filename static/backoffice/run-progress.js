// Poll the runs still under way and move their progress bars.
(function () {
  function poll(row) {
    fetch(row.dataset.progressUrl, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (run) {
        row.dataset.status = run.status;
        row.querySelector('[data-field="status"]').textContent = run.status;
        row.querySelector('[data-field="orders_seen"]').textContent = run.orders_seen + " / " + run.orders_total;
        ["orders_routed", "orders_split", "orders_unfillable", "orders_deferred"].forEach(function (f) {
          row.querySelector('[data-field="' + f + '"]').textContent = run[f];
        });
        var bar = row.querySelector(".progress");
        bar.value = run.progress_percent;
        if (run.status === "queued" || run.status === "running") { setTimeout(function () { poll(row); }, 1000); }
      });
  }
  document.querySelectorAll('tr[data-status="queued"], tr[data-status="running"]').forEach(poll);
})();
