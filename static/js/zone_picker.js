// The time zone picker, on the booking page and in Setup: friendly names with the current
// local time and UTC offset ("Eastern Time — New York (3:04 PM, UTC−5)"), searchable by
// city, country, abbreviation or IANA name, the detected zone first. An ARIA combobox:
// type to filter, arrows to move, Enter to choose, Escape to go back.
// Names come from /time-zones.json (CLDR, in the page's locale); times from the browser.
(function () {
  "use strict";
  var SO = window.ScheduleOnce = window.ScheduleOnce || {};
  var loaded = {};
  var counter = 0;

  function fetchZones(url) {
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("zone names: " + response.status); }
        return response.json();
      })
      .then(function (body) { return body.zones || []; });
  }

  // The names, asked once per page; a failed answer is asked again a second later, and
  // a second failure is not kept (a later picker asks again).
  function load(url) {
    if (!loaded[url]) {
      loaded[url] = fetchZones(url)
        .catch(function () {
          return new Promise(function (resolve) { window.setTimeout(resolve, 1000); })
            .then(function () { return fetchZones(url); });
        })
        .catch(function () { delete loaded[url]; return []; });
    }
    return loaded[url];
  }

  function offsetMinutes(zone, now) {
    try {
      var part = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "shortOffset" })
        .formatToParts(now).find(function (p) { return p.type === "timeZoneName"; });
      var match = /GMT([+-])(\d+)(?::(\d+))?/.exec(part ? part.value : "");
      if (!match) { return 0; }
      return (match[1] === "-" ? -1 : 1) * (+match[2] * 60 + (+match[3] || 0));
    } catch (e) { return 0; }
  }

  // "UTC+10", "UTC\u22124" (a minus sign), "UTC+5:30", "UTC" for none: every offset the
  // pages show, written as booking.clock.offset_text writes it on the server.
  function offsetText(minutes) {
    if (!minutes) { return "UTC"; }
    var sign = minutes < 0 ? "\u2212" : "+";
    var abs = Math.abs(minutes);
    return "UTC" + sign + Math.floor(abs / 60) + (abs % 60 ? ":" + String(abs % 60).padStart(2, "0") : "");
  }
  SO.offsetText = offsetText;

  function fold(text) {
    return (text || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[_/]+/g, " ");
  }

  // One picker. ``input`` is a text input; ``options``: {locale, dataUrl, detected,
  // value, onSelect(zone), invalidText}.
  SO.ZonePicker = function (input, options) {
    var self = this;
    var zones = [];
    var byId = {};
    var active = -1;
    var shown = [];
    var listId = (input.id || "zone-picker-" + (++counter)) + "-list";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "zone-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    // A text field shows one line, cut at its width; the chosen zone's whole label is
    // shown wrapped in a box under the field, which lies transparent on top of it until
    // focused (typing then happens in the field as usual).
    var box = document.createElement("div");
    box.className = "zone-box";
    var display = document.createElement("div");
    display.className = "zone-value";
    display.setAttribute("aria-hidden", "true");
    input.insertAdjacentElement("beforebegin", box);
    box.appendChild(display);
    box.appendChild(input);
    box.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");
    box.parentNode.classList.add("zone-picker");
    self.value = options.value || null;

    function label(zone) {
      var z = byId[zone];
      if (!z) { return zone; }
      var now = new Date();
      var time = new Intl.DateTimeFormat(options.locale, { timeZone: zone, timeStyle: "short" })
        .format(now).replace(/\u202f/g, " ");
      var place = z.city && z.city !== z.name ? " \u2014 " + z.city : "";
      return z.name + place + " (" + time + ", " + offsetText(offsetMinutes(zone, now)) + ")";
    }

    function show(text) {
      input.value = text;
      display.textContent = text;
    }

    // The zone as people read it, with its offset at ``at`` (a Date; now if omitted)
    // unless ``withoutOffset``: "Eastern Time \u2014 New York (UTC\u22125)", in the picker's
    // locale. Until the names have loaded, the browser's own name for it (Intl), else
    // the IANA name.
    self.describe = function (zone, at, withoutOffset) {
      at = at || new Date();
      var offset = zone === "UTC" || withoutOffset ? "" : " (" + offsetText(offsetMinutes(zone, at)) + ")";
      var z = byId[zone];
      if (z) {
        return z.name + (z.city && z.city !== z.name ? " \u2014 " + z.city : "") + offset;
      }
      var city = zone.indexOf("/") === -1 ? "" : zone.split("/").pop().replace(/_/g, " ");
      try {
        var part = new Intl.DateTimeFormat(options.locale, { timeZone: zone, timeZoneName: "longGeneric" })
          .formatToParts(at).find(function (p) { return p.type === "timeZoneName"; });
        if (part && part.value && !/^GMT/.test(part.value)) {
          return part.value + (city ? " \u2014 " + city : "") + offset;
        }
      } catch (e) { /* an old browser: the IANA name below */ }
      return zone.replace(/_/g, " ") + offset;
    };

    function matches(query) {
      var words = fold(query).split(/\s+/).filter(Boolean);
      if (!words.length) { return zones; }
      return zones.filter(function (z) {
        return words.every(function (word) { return z.haystack.indexOf(word) !== -1; });
      });
    }

    function render(query) {
      shown = matches(query).slice(0, 200);
      list.textContent = "";
      shown.forEach(function (z, index) {
        var item = document.createElement("li");
        item.id = listId + "-" + index;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", String(z.id === self.value));
        item.dataset.zone = z.id;
        item.textContent = label(z.id);
        if (z.id === options.detected) {
          item.classList.add("detected");
        }
        list.appendChild(item);
      });
      setActive(shown.length ? 0 : -1);
    }

    function setActive(index) {
      var items = list.children;
      if (active >= 0 && items[active]) { items[active].classList.remove("active"); }
      active = index;
      if (index >= 0 && items[index]) {
        items[index].classList.add("active");
        items[index].scrollIntoView({ block: "nearest" });
        input.setAttribute("aria-activedescendant", items[index].id);
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function choose(zone) {
      close();
      self.value = zone;
      show(label(zone));
      input.dataset.zone = zone;
      input.removeAttribute("aria-invalid");
      if (options.onSelect) { options.onSelect(zone); }
    }

    // Enter, or leaving the field after typing: the highlighted match, else a refusal.
    function commit() {
      if (!zones.length) {  // the names are still on their way
        self.ready.then(function () { if (zones.length) { render(input.value); commit(); } });
        return false;
      }
      if (input.value === label(self.value) && input.dataset.zone === self.value) { close(); return true; }
      if (!input.value.trim() && self.value) { show(label(self.value)); close(); return true; }
      var found = list.hidden ? matches(input.value) : shown;
      var pick = !list.hidden && active >= 0 ? shown[active] : found[0];
      if (pick && input.value.trim()) { choose(pick.id); return true; }
      input.setAttribute("aria-invalid", "true");
      if (options.onInvalid) { options.onInvalid(); }
      close();
      return false;
    }

    input.addEventListener("input", function () { display.textContent = input.value; render(input.value); open(); });
    input.addEventListener("focus", function () { input.select(); });
    input.addEventListener("click", function () { if (list.hidden) { render(""); open(); } });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { render(""); open(); return; }
        var step = event.key === "ArrowDown" ? 1 : -1;
        setActive(Math.max(0, Math.min(shown.length - 1, active + step)));
      } else if (event.key === "Enter") {
        event.preventDefault();
        commit();
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); }
        close();
        if (self.value) { show(label(self.value)); input.removeAttribute("aria-invalid"); }
      }
    });
    input.addEventListener("blur", function () {
      window.setTimeout(function () { if (document.activeElement !== input && !list.hidden) { commit(); } }, 150);
    });
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var item = event.target.closest("li[role=option]");
      if (item) { choose(item.dataset.zone); }
    });

    self.set = function (zone) {
      self.value = zone;
      input.dataset.zone = zone;
      show(label(zone));
    };

    self.ready = load(options.dataUrl).then(function (data) {
      var now = new Date();
      var formerly = {};  // today's name -> the old names browsers may still use
      Object.keys(SO.renamedZones || {}).forEach(function (old) {
        var current = SO.renamedZones[old];
        formerly[current] = (formerly[current] || "") + " " + old;
      });
      zones = data.map(function (z) {
        var offset = offsetMinutes(z.id, now);
        return Object.assign({}, z, {
          offset: offset,
          haystack: fold([z.id, z.name, z.city, z.country, z.abbr, offsetText(offset), formerly[z.id]].join(" "))
        });
      });
      zones.sort(function (a, b) {
        if (a.id === options.detected) { return -1; }
        if (b.id === options.detected) { return 1; }
        return a.offset - b.offset || a.name.localeCompare(b.name);
      });
      zones.forEach(function (z) { byId[z.id] = z; });
      // Typed before the names came: the open list was empty, and Enter would pick from
      // it; show the matches of what is in the field now.
      if (!list.hidden) { render(input.value); }
      if (self.value && document.activeElement !== input) { show(label(self.value)); }
      return self;
    });
  };

  // Setup's forms: each <select data-detect-time-zone> or <select data-zone-picker> gets a
  // picker in front of it
  // (the select stays, hidden, and is what the form sends).
  function enhanceSelects() {
    var html = document.documentElement;
    var locale = html.dataset.locale || html.lang || undefined;
    document.querySelectorAll("select[data-detect-time-zone], select[data-zone-picker]").forEach(function (select) {
      var input = document.createElement("input");
      input.type = "text";
      input.id = select.id + "-picker";
      input.className = select.className;
      input.spellcheck = false;
      var describedBy = select.getAttribute("aria-describedby");
      if (describedBy) { input.setAttribute("aria-describedby", describedBy); }
      select.insertAdjacentElement("beforebegin", input);
      select.hidden = true;
      select.setAttribute("aria-hidden", "true");
      select.tabIndex = -1;
      var label = document.querySelector('label[for="' + select.id + '"]');
      if (label) { label.htmlFor = input.id; }
      var detected;
      try { detected = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { detected = null; }
      detected = (SO.renamedZones && SO.renamedZones[detected]) || detected;
      var picker = new SO.ZonePicker(input, {
        locale: locale,
        dataUrl: "/time-zones.json?locale=" + encodeURIComponent(locale || ""),
        detected: detected,
        value: select.value,
        onSelect: function (zone) { select.value = zone; }
      });
      picker.set(select.value);
    });
  }

  SO.enhanceZoneSelects = enhanceSelects;
})();
