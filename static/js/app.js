// Small progressive enhancements shared by every page. Pages work without it.
(function () {
  "use strict";

  // Preselect the browser's time zone in fresh forms that ask for one.
  function detectTimeZone() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) { return; }
    document.querySelectorAll("select[data-detect-time-zone]").forEach(function (select) {
      if (select.dataset.keepChoice === "1" || select.closest("form.bound")) { return; }
      if (select.value === "UTC" && select.querySelector('option[value="' + zone + '"]')) {
        select.value = zone;
      }
    });
  }

  // Buttons with data-copy="text" copy that text and say so.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var text = button.dataset.copy;
        var done = function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        };
        if (navigator.clipboard) { navigator.clipboard.writeText(text).then(done); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    detectTimeZone();
    copyButtons();
  });
})();
