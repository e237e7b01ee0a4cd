// The confirmation page: the Teams join link appears as soon as Outlook has made it,
// without a reload. Asks join.json every 2 seconds for a minute, then every 10 seconds
// for ten minutes more.
(function () {
  "use strict";
  var holder = document.getElementById("join");
  var waiting = document.getElementById("join-waiting");
  if (!holder || !waiting) { return; }
  var started = Date.now();

  function show(url) {
    var link = document.createElement("a");
    link.className = "button";
    link.id = "join-button";
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = waiting.dataset.label;
    holder.replaceChild(link, waiting);
  }

  function ask() {
    fetch(holder.dataset.poll, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (body) {
        if (body.join_url && /^https?:\/\//.test(body.join_url)) { show(body.join_url); return; }
        if (body.expected === false) { return; }
        later();
      })
      .catch(later);
  }

  function later() {
    var waited = Date.now() - started;
    if (waited > 11 * 60 * 1000) { return; }
    window.setTimeout(ask, waited < 60 * 1000 ? 2000 : 10000);
  }

  later();
})();
