// Small progressive enhancements shared by every page. Pages work without it.
(function () {
  "use strict";

  // Browsers may still report old names of a zone; forms offer today's name.
  var RENAMED_ZONES = {
    "Asia/Calcutta": "Asia/Kolkata", "Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon", "Europe/Kiev": "Europe/Kyiv", "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "Atlantic/Faeroe": "Atlantic/Faroe", "Pacific/Truk": "Pacific/Chuuk", "America/Godthab": "America/Nuuk"
  };
  window.ScheduleOnce = window.ScheduleOnce || {};
  window.ScheduleOnce.renamedZones = RENAMED_ZONES;

  // Preselect the browser's time zone in fresh forms that ask for one.
  function detectTimeZone() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) { return; }
    zone = RENAMED_ZONES[zone] || zone;
    document.querySelectorAll("select[data-detect-time-zone]").forEach(function (select) {
      if (select.dataset.keepChoice === "1" || select.closest("form.bound")) { return; }
      if (select.value === "UTC" && select.querySelector('option[value="' + zone + '"]')) {
        select.value = zone;
      }
    });
  }

  // Buttons with data-copy="text" copy that text and say so, also to screen readers
  // (a button's aria-label hides its changed text) and when the browser refuses (the
  // clipboard needs HTTPS or localhost).
  function copyButtons() {
    var buttons = document.querySelectorAll("button[data-copy]");
    if (!buttons.length) { return; }
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    document.body.appendChild(status);
    // The page's words (templates/base.html), English when a page has none.
    var words = document.body.dataset;
    buttons.forEach(function (button) {
      var label = button.textContent;
      button.addEventListener("click", function () {
        var done = function () {
          status.textContent = (words.linkCopiedLabel || "Link copied:") + " " + button.dataset.copy;
          button.textContent = words.copiedLabel || "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        };
        var failed = function () {
          status.textContent = words.copyFailedLabel || "Could not copy; select the link and copy it yourself.";
          button.textContent = words.selectLinkLabel || "Select the link to copy";
          setTimeout(function () { button.textContent = label; }, 3000);
        };
        if (!navigator.clipboard) { failed(); return; }
        navigator.clipboard.writeText(button.dataset.copy).then(done, failed);
      });
    });
  }

  // Forms marked data-auto-submit post themselves (the sign-in callback's second step).
  function autoSubmit() {
    var form = document.querySelector("form[data-auto-submit]");
    if (form) { form.submit(); }
  }

  // Selects marked data-submit-on-change save at once when picked with a pointer. Arrow
  // keys change a closed select's value as they move, so a keyboard change does not
  // save (and reload the page) on every step: it shows the Save button instead, and
  // Enter saves.
  function submitOnChange() {
    document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
      var save = select.form.querySelector("[data-hide-with-js]");
      var byKeyboard = false;
      select.addEventListener("pointerdown", function () { byKeyboard = false; });
      select.addEventListener("keydown", function (event) {
        byKeyboard = true;
        if (event.key === "Enter") { event.preventDefault(); select.form.submit(); }
      });
      select.addEventListener("change", function () {
        if (byKeyboard && save) { save.hidden = false; } else { select.form.submit(); }
      });
      if (save) { save.hidden = true; }
    });
  }

  // The calendar lobby: sign-in opens in a new tab; when any tab shows a changed
  // connection, the other lobby tabs reload so they never show a stale state.
  function calendarLobby() {
    document.querySelectorAll("form[data-connect-form]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var note = document.getElementById("connect-note");
        var sameTab = event.submitter && event.submitter.getAttribute("formtarget") === "_self";
        if (note && !sameTab) { note.hidden = false; }
        // The new tab closes itself once connected (calendars.views.SIGN_IN_TAB).
        var marker = form.querySelector("input[name=new_tab]");
        if (!marker) {
          marker = document.createElement("input");
          marker.type = "hidden";
          marker.name = "new_tab";
          form.appendChild(marker);
        }
        marker.value = sameTab ? "0" : "1";
      });
    });
    var lobby = document.getElementById("calendar-lobby");
    if (!lobby || !window.BroadcastChannel) { return; }
    var version = lobby.dataset.connectionVersion;
    var channel = new BroadcastChannel("scheduleonce-calendar-connection");
    channel.onmessage = function (message) {
      if (message.data && message.data.version && message.data.version !== version) {
        window.location.reload();
      }
    };
    channel.postMessage({ version: version });
    // The tab the sign-in ran in (?signed_in=1): the other Setup tabs now reload with the
    // connection, so this one closes itself; a browser that keeps it shows the way back.
    if (lobby.hasAttribute("data-sign-in-tab")) {
      window.setTimeout(function () { window.close(); }, 300);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    detectTimeZone();
    if (window.ScheduleOnce.enhanceZoneSelects) { window.ScheduleOnce.enhanceZoneSelects(); }
    copyButtons();
    autoSubmit();
    submitOnChange();
    calendarLobby();
  });
})();
