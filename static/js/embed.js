// ScheduleOnce on your own site. Put this script on the page once, then either
//   <iframe data-scheduleonce src="https://…/book/<slug>/?embed=1" title="…"></iframe>
// (inline: the frame takes the booking page's height as it changes), or
//   <button type="button" data-scheduleonce-popup="https://…/book/<slug>/">Book a meeting</button>
// (pop-up: the page opens over yours; Escape or the close button ends it).
// After a booking the frame sends your page a message you can listen for:
//   window.addEventListener("message", function (e) {
//     if (e.data && e.data.type === "scheduleonce:booked") { … e.data.booking … } });
(function () {
  "use strict";
  if (window.ScheduleOnceEmbed) { return; }
  window.ScheduleOnceEmbed = true;

  // The pop-up's own words, in each language the booking pages speak (settings.LANGUAGES;
  // tests/booking/test_embed_setup.py keeps the two lists alike). One JSON object a line.
  var WORDS = {
    "en": {"close": "Close", "dialog": "Booking"},
    "de": {"close": "Schlie\u00dfen", "dialog": "Buchung"}
  };

  // The language the booking page in the pop-up speaks, chosen as the server chooses it:
  // the link's ?lang=, else the first of the visitor's languages it has, else English.
  function wordsFor(url) {
    var asked = [new URL(url, window.location.href).searchParams.get("lang") || ""];
    asked = asked.concat(navigator.languages || [navigator.language || ""]);
    for (var i = 0; i < asked.length; i++) {
      var code = String(asked[i] || "").toLowerCase().split(/[-_]/)[0];
      if (WORDS[code]) { return WORDS[code]; }
    }
    return WORDS.en;
  }

  function embedUrl(url) {
    var parsed = new URL(url, window.location.href);
    parsed.searchParams.set("embed", "1");
    return parsed.toString();
  }

  function frames() {
    return Array.prototype.slice.call(document.querySelectorAll("iframe[data-scheduleonce]"));
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.type !== "scheduleonce:resize" || typeof data.height !== "number") { return; }
    frames().forEach(function (frame) {
      if (frame.contentWindow === event.source) {
        frame.style.height = Math.max(200, Math.min(data.height, 10000)) + "px";
      }
    });
  });

  function openPopup(url, opener) {
    var words = wordsFor(url);
    var overlay = document.createElement("div");
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", opener.getAttribute("aria-label") || opener.textContent.trim() || words.dialog);
    overlay.style.cssText = "position:fixed;inset:0;z-index:2147483000;background:rgba(0,0,0,.55);" +
      "display:flex;align-items:center;justify-content:center;padding:16px";
    var box = document.createElement("div");
    box.style.cssText = "position:relative;background:#fff;border-radius:8px;width:min(1060px,100%);" +
      "height:min(760px,100%);overflow:hidden";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "\u00d7";
    close.setAttribute("aria-label", words.close);
    close.style.cssText = "position:absolute;top:4px;right:8px;z-index:1;font-size:28px;line-height:1;" +
      "background:none;border:0;cursor:pointer;padding:4px 10px";
    var frame = document.createElement("iframe");
    frame.src = embedUrl(url);
    frame.title = overlay.getAttribute("aria-label");
    frame.setAttribute("data-scheduleonce-popup-frame", "");
    frame.style.cssText = "border:0;width:100%;height:100%";
    box.appendChild(close);
    box.appendChild(frame);
    overlay.appendChild(box);
    function end() {
      document.removeEventListener("keydown", onKey);
      overlay.remove();
      opener.focus();
    }
    function onKey(event) { if (event.key === "Escape") { end(); } }
    close.addEventListener("click", end);
    overlay.addEventListener("click", function (event) { if (event.target === overlay) { end(); } });
    document.addEventListener("keydown", onKey);
    document.body.appendChild(overlay);
    close.focus();
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-scheduleonce-popup]");
    if (!opener) { return; }
    event.preventDefault();
    openPopup(opener.getAttribute("data-scheduleonce-popup"), opener);
  });

  function prepare() {
    frames().forEach(function (frame) {
      if (frame.src.indexOf("embed=1") === -1) { frame.src = embedUrl(frame.src); }
      frame.style.border = frame.style.border || "0";
      frame.style.width = frame.style.width || "100%";
      if (!frame.style.height) { frame.style.height = "700px"; }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", prepare); } else { prepare(); }
})();
