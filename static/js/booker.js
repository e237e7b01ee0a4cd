// The public booking page: month grid, time zone, slots and the booking form.
// It uses the public JSON API only (GET …/slots, POST …/bookings); see README.
// Slots come back with the invitee's offset, so their wall-clock time is the
// text of the ISO string itself: no date arithmetic happens in the browser.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("booker-config").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var tzInput = $("tz-input");
  // A zone the picker offers (accounts.timezones.time_zone_names: Area/City names and UTC)
  // and this browser knows; the server checks it again.
  function offered(zone) {
    if (zone === "UTC") { return true; }
    if (!zone || zone.indexOf("/") === -1 || /^(Etc|SystemV|US|posix|right)\//.test(zone)) { return false; }
    try { new Intl.DateTimeFormat("en-US", { timeZone: zone }); return true; } catch (e) { return false; }
  }
  var state = { tz: null, year: 0, month: 0, slots: {}, loaded: {}, day: null, slot: null, autoAdvanced: false };

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function isoDate(y, m, d) { return y + "-" + pad(m + 1) + "-" + pad(d); }
  function daysIn(y, m) { return new Date(Date.UTC(y, m + 1, 0)).getUTCDate(); }
  function utcDate(iso) { return new Date(Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10))); }
  // Dates and times read as in the invitee's locale (12-hour clock in the US, 24-hour in
  // Britain and Germany), in the same CLDR styles the confirmation and emails use.
  var locale = config.locale || undefined;
  var T = config.strings || {};
  function say(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }
  function format(iso, options) {
    return new Intl.DateTimeFormat(locale, Object.assign({ timeZone: "UTC" }, options)).format(utcDate(iso));
  }
  function dayLabel(iso) { return format(iso, { dateStyle: "full" }); }
  function hhmm(isoDateTime) { return isoDateTime.slice(11, 16); }
  // The wall-clock time of an ISO string with offset ("…T15:00:00-05:00" → "3:00 PM").
  function timeText(isoDateTime) {
    var wall = new Date(Date.UTC(+isoDateTime.slice(0, 4), +isoDateTime.slice(5, 7) - 1, +isoDateTime.slice(8, 10),
      +isoDateTime.slice(11, 13), +isoDateTime.slice(14, 16)));
    return new Intl.DateTimeFormat(locale, { timeZone: "UTC", timeStyle: "short" }).format(wall).replace(/\u202f/g, " ");
  }

  function todayIn(tz) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date()).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day;
  }

  // Browsers may still report old names of a zone; offer today's name (map in app.js).
  var RENAMED = (window.ScheduleOnce && window.ScheduleOnce.renamedZones) || {};

  function detectZone() {
    var wanted = config.inviteeTimeZone;
    if (!wanted) {
      try { wanted = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { wanted = null; }
    }
    if (wanted && RENAMED[wanted] && offered(RENAMED[wanted])) { return RENAMED[wanted]; }
    if (offered(wanted)) { return wanted; }
    return config.pageTimeZone;
  }

  var markedShown = false;  // the status says which zone the marked days' times are in
  function status(text) { $("cal-status").textContent = text; markedShown = false; }

  // --- loading --------------------------------------------------------------------

  function monthKey() { return state.tz + "|" + state.year + "-" + state.month; }

  function load() {
    var key = monthKey();
    renderMonth();
    if (state.loaded[key]) { afterLoad(); return; }
    status(T.loading);
    var url = config.slotsUrl + "?start=" + isoDate(state.year, state.month, 1) +
      "&end=" + isoDate(state.year, state.month, daysIn(state.year, state.month)) +
      "&tz=" + encodeURIComponent(state.tz) +
      (config.rescheduleToken ? "&reschedule=" + encodeURIComponent(config.rescheduleToken) : "");
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) { throw new Error(result.body.message || "error"); }
        result.body.slots.forEach(function (slot) {
          if (isCurrent(slot)) { return; }  // the meeting is already there
          var day = state.tz + "|" + slot.start.slice(0, 10);
          (state.slots[day] = state.slots[day] || []).push(slot);
        });
        state.loaded[key] = true;
        if (key === monthKey()) { renderMonth(); afterLoad(); }
      })
      .catch(function () { status(T.loadFailed); });
  }

  // When moving a booking, its own time is offered back by the API; leave it out.
  var currentStart = config.currentStart ? Date.parse(config.currentStart) : null;
  function isCurrent(slot) { return currentStart !== null && Date.parse(slot.start) === currentStart; }

  function slotsOn(iso) { return state.slots[state.tz + "|" + iso] || []; }

  function afterLoad() {
    if (state.day && !$("slots-section").hidden) { renderSlots(state.day); }
    var count = 0;
    for (var d = 1; d <= daysIn(state.year, state.month); d++) {
      if (slotsOn(isoDate(state.year, state.month, d)).length) { count++; }
    }
    if (!count && !state.autoAdvanced && canGoNext()) {
      state.autoAdvanced = true;
      move(1);
      return;
    }
    status(count ? say(T.marked, { zone: monthZoneText() }) : T.noneThisMonth);
    markedShown = count > 0;
  }

  // --- month grid --------------------------------------------------------------------

  function canGoPrev() {
    var today = todayIn(state.tz);
    return state.year * 12 + state.month > (+today.slice(0, 4)) * 12 + (+today.slice(5, 7) - 1);
  }
  function canGoNext() {
    var today = utcDate(todayIn(state.tz));
    var last = new Date(today.getTime() + (config.horizonDays + 1) * 86400000);
    return state.year * 12 + state.month < last.getUTCFullYear() * 12 + last.getUTCMonth();
  }

  // A month button that just became disabled drops the keyboard focus; hand it over.
  function keepFocus(id, otherId) {
    if ($(id).disabled && document.activeElement !== $(otherId)) { $(otherId).focus(); }
  }

  function move(delta) {
    var index = state.year * 12 + state.month + delta;
    state.year = Math.floor(index / 12);
    state.month = index % 12;
    load();
  }

  function renderMonth() {
    $("cal-heading").textContent = format(isoDate(state.year, state.month, 1), { month: "long", year: "numeric" });
    $("prev-month").disabled = !canGoPrev();
    $("next-month").disabled = !canGoNext();
    var body = $("month-body");
    body.textContent = "";
    var offset = (new Date(Date.UTC(state.year, state.month, 1)).getUTCDay() + 6) % 7;
    var total = daysIn(state.year, state.month);
    var row = document.createElement("tr");
    for (var i = 0; i < offset; i++) { row.appendChild(document.createElement("td")); }
    var focusable = null;
    for (var d = 1; d <= total; d++) {
      var iso = isoDate(state.year, state.month, d);
      var cell = document.createElement("td");
      var button = document.createElement("button");
      var free = slotsOn(iso).length;
      button.type = "button";
      button.className = "day";
      button.textContent = String(d);
      button.dataset.date = iso;
      button.tabIndex = -1;
      button.setAttribute("aria-label", dayLabel(iso) + ", " + (free ? (free > 1 ? say(T.freeMany, { count: free }) : T.freeOne) : T.freeNone));
      if (free) {
        button.classList.add("has-slots");
        if (!focusable || iso === state.day) { focusable = button; }
      } else {
        button.disabled = true;
      }
      if (iso === state.day) { button.setAttribute("aria-pressed", "true"); }
      cell.appendChild(button);
      row.appendChild(cell);
      if ((offset + d) % 7 === 0 || d === total) { body.appendChild(row); row = document.createElement("tr"); }
    }
    if (focusable) { focusable.tabIndex = 0; }
  }

  function dayButtons() { return Array.prototype.slice.call($("month-body").querySelectorAll("button.day:not([disabled])")); }

  function onGridKey(event) {
    var steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 7, ArrowUp: -7 };
    var step = steps[event.key];
    var current = event.target.closest && event.target.closest("button.day");
    if (!current) { return; }
    var buttons = dayButtons();
    var target = null;
    if (event.key === "Home") { target = buttons[0]; } else if (event.key === "End") { target = buttons[buttons.length - 1]; }
    else if (step) {
      var day = +current.dataset.date.slice(8, 10) + step;
      var max = daysIn(state.year, state.month);
      while (day >= 1 && day <= max && !target) {
        target = buttons.find(function (b) { return +b.dataset.date.slice(8, 10) === day; }) || null;
        day += step > 0 ? 1 : -1;
      }
    } else { return; }
    event.preventDefault();
    if (target) {
      buttons.forEach(function (b) { b.tabIndex = -1; });
      target.tabIndex = 0;
      target.focus();
    }
  }

  // --- slots and form -------------------------------------------------------------------

  function chooseDay(iso) {
    state.day = iso;
    $("slots-notice").hidden = true;
    renderMonth();
    renderSlots(iso);
    $("slots-section").hidden = false;
    $("form-section").hidden = true;
    $("slots-heading").focus();
  }

  function renderSlots(iso) {
    var list = $("slot-list");
    list.textContent = "";
    slotsOn(iso).forEach(function (slot) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      var offset = repeatedOffset(slot);
      button.type = "button";
      button.className = "slot secondary";
      button.textContent = timeText(slot.start);
      if (offset) {
        var note = document.createElement("small");
        note.textContent = offset;
        button.appendChild(note);
      }
      button.setAttribute("aria-label", say(T.span, { start: startLabel(slot), end: timeText(slot.end) }));
      button.setAttribute("aria-pressed", String(!!state.slot && state.slot.start === slot.start));
      button.addEventListener("click", function () {
        list.querySelectorAll("button.slot").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
        button.setAttribute("aria-pressed", "true");
        chooseSlot(slot);
      });
      item.appendChild(button);
      list.appendChild(item);
    });
    $("slots-heading").textContent = dayLabel(iso);
    var first = slotsOn(iso)[0];
    $("slots-zone").textContent = zoneText(first ? new Date(first.start) : new Date(utcDate(iso).getTime() + 43200000));
  }

  // The chosen time was taken meanwhile: say so above the day's times, which are
  // loaded again; what the invitee typed stays in the (hidden) form.
  function slotTaken(message) {
    state.slot = null;
    $("form-section").hidden = true;
    $("slots-section").hidden = false;
    $("slots-notice").textContent = message || T.taken;
    $("slots-notice").hidden = false;
    $("slots-heading").focus();
    state.loaded = {};
    state.slots = {};
    load();
  }

  // When clocks go back a time shows twice on the day; the UTC offset tells them apart
  // ("UTC+11", "UTC\u22124", "UTC+10:30": ScheduleOnce.offsetText, as the server writes
  // it). Empty for times that show once.
  function repeatedOffset(slot) {
    var time = hhmm(slot.start);
    var same = slotsOn(slot.start.slice(0, 10)).filter(function (s) { return hhmm(s.start) === time; });
    if (same.length < 2) { return ""; }
    var offset = slot.start.slice(19);  // "+10:00", "-04:00", "+05:30" (or "Z")
    var minutes = offset === "Z" ? 0 : (offset[0] === "-" ? -1 : 1) * (+offset.slice(1, 3) * 60 + (+offset.slice(4, 6)));
    return window.ScheduleOnce.offsetText(minutes);
  }

  function startLabel(slot) {
    var offset = repeatedOffset(slot);
    return timeText(slot.start) + (offset ? " (" + offset + ")" : "");
  }

  function slotText(slot) {
    return dayLabel(slot.start.slice(0, 10)) + ", " + startLabel(slot) + " \u2013 " + timeText(slot.end);
  }

  // The invitee's zone as people read it ("Eastern Time \u2014 New York (UTC\u22125)", in the
  // page's language; zone_picker.js), with its offset at ``at``.
  var zonePicker = null;
  function zoneText(at, withoutOffset) {
    if (!zonePicker) { return state.tz; }
    return zonePicker.describe(state.tz, at, withoutOffset);
  }
  // For the month shown: its offset when the whole month has one, else none.
  function monthZoneText() {
    var first = new Date(Date.UTC(state.year, state.month, 1, 12));
    var last = new Date(Date.UTC(state.year, state.month, daysIn(state.year, state.month), 12));
    return zoneText(first, zoneText(first) !== zoneText(last));
  }

  function chooseSlot(slot) {
    state.slot = slot;
    $("slots-notice").hidden = true;
    // The details form takes the place of the day's times (as on Calendly).
    $("slots-section").hidden = true;
    var chosen = $("chosen-slot");
    chosen.textContent = slotText(slot);
    var zone = document.createElement("span");
    zone.className = "chosen-zone";
    zone.textContent = zoneText(new Date(slot.start));
    chosen.appendChild(zone);
    $("form-section").hidden = false;
    clearErrors();
    var start = $("reschedule-start");
    if (start) { start.value = slot.start; }
    $("form-heading").focus();
  }

  function clearErrors() {
    document.querySelectorAll("#form-section .error, #form-error").forEach(function (el) { el.hidden = true; el.textContent = ""; });
    document.querySelectorAll("#form-section [aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function showErrors(body) {
    var general = [];
    var errors = (body && body.errors) || {};
    Object.keys(errors).forEach(function (field) {
      var text = errors[field].join(" ");
      var holder = $("err-" + field);
      if (holder) {
        holder.textContent = text;
        holder.hidden = false;
        var input = field.indexOf("answers.") === 0 ? $("f-q" + field.slice(8)) : $("f-" + field);
        if (input) { input.setAttribute("aria-invalid", "true"); }
      } else {
        general.push(text);
      }
    });
    if (!general.length && body && body.message) { general.push(body.message); }
    if (general.length) { $("form-error").textContent = general.join(" "); $("form-error").hidden = false; }
    var first = document.querySelector("#form-section [aria-invalid]");
    if (first) { first.focus(); }
  }

  function submitBooking(event) {
    event.preventDefault();
    if (!state.slot) { return; }
    clearErrors();
    var answers = {};
    document.querySelectorAll("[data-answer]").forEach(function (field) {
      if (field.value.trim()) { answers[field.dataset.answer] = field.value.trim(); }
    });
    var payload = {
      start: state.slot.start,
      name: $("f-name").value.trim(),
      email: $("f-email").value.trim(),
      timezone: state.tz,
      locale: config.locale,
      answers: answers
    };
    var button = $("book-button");
    button.disabled = true;
    button.textContent = T.booking;
    fetch(config.bookingsUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 201) {
          tellTheEmbeddingSite(body);
          // The Location header is the confirmation page (also reschedule_url without "reschedule/").
          var next = response.headers.get("Location") || body.reschedule_url.replace(/reschedule\/$/, "");
          window.location.assign(next + carriedQuery());
          return;
        }
        button.disabled = false;
        button.textContent = T.book;
        if (response.status === 409) {
          slotTaken(body.message);
        } else {
          showErrors(body.errors || body.message ? body : { message: T.failed });
        }
      });
    }).catch(function () {
      button.disabled = false;
      button.textContent = T.book;
      showErrors({ message: T.unsent });
    });
  }

  // Inside another site's frame: tell that site what was booked (its public fields only;
  // the cancel and reschedule links are the invitee's private links and stay out).
  function tellTheEmbeddingSite(body) {
    if (window.parent === window) { return; }
    window.parent.postMessage({
      type: "scheduleonce:booked",
      booking: {
        id: body.id, start: body.start, end: body.end, timezone: state.tz,
        page: config.slug, title: config.title, host: body.host ? body.host.name : config.hostName
      }
    }, "*");
  }

  // The confirmation stays embedded and in the chosen language.
  function carriedQuery() {
    var here = new URLSearchParams(window.location.search);
    var kept = new URLSearchParams();
    ["embed", "lang"].forEach(function (key) { if (here.get(key)) { kept.set(key, here.get(key)); } });
    var text = kept.toString();
    return text ? "?" + text : "";
  }

  function setZone(zone) {
    state.tz = zone;
    state.day = null;
    state.slot = null;
    $("slots-section").hidden = true;
    $("form-section").hidden = true;
    var today = todayIn(zone);
    state.year = +today.slice(0, 4);
    state.month = +today.slice(5, 7) - 1;
    load();
  }

  // The zone picker (static/js/zone_picker.js): friendly names, searchable.
  function startZonePicker(zone) {
    var error = $("tz-error");
    var picker = new window.ScheduleOnce.ZonePicker(tzInput, {
      locale: locale,
      dataUrl: config.timeZonesUrl,
      detected: zone,
      value: zone,
      onSelect: function (value) {
        error.hidden = true;
        if (value !== state.tz) { setZone(value); }
      },
      onInvalid: function () {
        error.textContent = T.pickZone;
        error.hidden = false;
      }
    });
    picker.set(zone);
    zonePicker = picker;
    // The names arrive after the first month may be shown: say it again with them.
    picker.ready.then(function () {
      if (markedShown) { status(say(T.marked, { zone: monthZoneText() })); markedShown = true; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var zone = detectZone();
    startZonePicker(zone);
    $("prev-month").addEventListener("click", function () { if (canGoPrev()) { move(-1); keepFocus("prev-month", "next-month"); } });
    $("next-month").addEventListener("click", function () { if (canGoNext()) { move(1); keepFocus("next-month", "prev-month"); } });
    $("month-body").addEventListener("click", function (event) {
      var button = event.target.closest("button.day");
      if (button && !button.disabled) { chooseDay(button.dataset.date); }
    });
    $("month-body").addEventListener("keydown", onGridKey);
    $("change-slot").addEventListener("click", function () {
      $("form-section").hidden = true;
      $("slots-section").hidden = false;
      $("slots-heading").focus();
    });
    var form = $("booking-form");
    if (form) { form.addEventListener("submit", submitBooking); }
    setZone(zone);
  });
})();
