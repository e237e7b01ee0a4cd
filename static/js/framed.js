// A public page shown inside another site's frame (?embed=1): tell that site how tall
// the page is, so its frame grows and shrinks with it (static/js/embed.js listens).
(function () {
  "use strict";
  if (window.parent === window) { return; }
  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) { return; }
    last = height;
    window.parent.postMessage({ type: "scheduleonce:resize", height: height }, "*");
  }
  if (window.ResizeObserver) { new ResizeObserver(report).observe(document.documentElement); }
  window.addEventListener("load", report);
  report();
})();
