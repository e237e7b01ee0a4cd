// Setup → booking page editor: "Add range / date / question" rows. Without script the
// page still works: every weekday has a blank row and "Remove" is a checkbox.
(function () {
  "use strict";

  function addRow(button) {
    var prefix = button.dataset.addRow;
    var template = document.getElementById(prefix + "-template");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    if (!template || !total) { return; }
    var index = parseInt(total.value, 10);
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var row = holder.firstElementChild;
    if (button.dataset.weekday !== undefined) {
      var weekday = row.querySelector('input[name$="-weekday"]');
      if (weekday) { weekday.value = button.dataset.weekday; }
    }
    var rows = button.parentElement.querySelector("[data-rows]");
    rows.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus(); }
  }

  // Duration as choices plus custom: a select in front of the number field (which stays
  // what the form sends, shown for "Custom").
  var DURATIONS = [15, 20, 30, 45, 60, 90, 120];
  function durationChoices() {
    var number = document.getElementById("id_page-duration_minutes");
    if (!number) { return; }
    var labels = number.dataset;
    var select = document.createElement("select");
    select.id = "duration-choice";
    DURATIONS.forEach(function (minutes) {
      var option = document.createElement("option");
      option.value = String(minutes);
      option.textContent = (labels.minutesLabel || "%(n)s minutes").replace("%(n)s", minutes);
      select.appendChild(option);
    });
    var custom = document.createElement("option");
    custom.value = "custom";
    custom.textContent = labels.customLabel || "Custom…";
    select.appendChild(custom);
    var known = DURATIONS.indexOf(parseInt(number.value, 10)) !== -1;
    select.value = known ? String(parseInt(number.value, 10)) : "custom";
    number.hidden = known;
    number.setAttribute("aria-label", labels.customAria || "Custom duration in minutes");
    number.insertAdjacentElement("beforebegin", select);
    var label = document.querySelector('label[for="id_page-duration_minutes"]');
    if (label) { label.htmlFor = select.id; }
    select.addEventListener("change", function () {
      if (select.value === "custom") {
        number.hidden = false;
        number.focus();
      } else {
        number.value = select.value;
        number.hidden = true;
      }
    });
  }

  // Weekly hours, compact: one line per day with an "Open" switch, ranges added and
  // removed inline (× ticks the row's hidden "Remove" box), and "Copy Monday to
  // Tuesday–Friday". The formset underneath is unchanged (and works without script).
  function rangeRows(day) {
    return Array.prototype.slice.call(day.querySelectorAll("[data-rows] > [data-row]"))
      .filter(function (row) { return !row.hidden; });
  }
  function dropRow(row) {
    var box = row.querySelector('input[name$="-DELETE"]');
    if (box) { box.checked = true; }
    row.hidden = true;
  }
  function filled(row) {
    return row.querySelector('input[name$="-start"]').value || row.querySelector('input[name$="-end"]').value;
  }
  function addRange(day, start, end) {
    var button = day.querySelector("[data-add-row]");
    addRow(button);
    var rows = rangeRows(day);
    var row = rows[rows.length - 1];
    enhanceRow(row);
    row.querySelector('input[name$="-start"]').value = start || "09:00";
    row.querySelector('input[name$="-end"]').value = end || "17:00";
    return row;
  }
  function enhanceRow(row) {
    if (row.dataset.enhanced) { return; }
    row.dataset.enhanced = "1";
    var check = row.querySelector(".remove-check");
    if (!check) { return; }
    check.hidden = true;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "small secondary remove-range";
    remove.textContent = "\u00d7";
    remove.setAttribute("aria-label", check.textContent.trim());
    remove.addEventListener("click", function () {
      var day = row.closest(".weekday");
      dropRow(row);
      syncOpen(day);
      var next = day.querySelector("[data-add-row]");
      if (next) { next.focus(); }
    });
    check.insertAdjacentElement("afterend", remove);
  }
  function syncOpen(day) {
    var open = rangeRows(day).some(filled);
    day.querySelector(".day-open").checked = open;
    day.classList.toggle("closed", !open);
  }
  function compactHours() {
    var days = Array.prototype.slice.call(document.querySelectorAll(".weekdays .weekday"));
    if (!days.length) { return; }
    var words = document.querySelector(".weekdays").dataset;
    days.forEach(function (day) {
      var legend = day.querySelector("legend");
      rangeRows(day).forEach(function (row) {
        enhanceRow(row);
        if (!filled(row)) { dropRow(row); }  // the blank row kept for use without script
      });
      var toggle = document.createElement("label");
      toggle.className = "check day-toggle";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.className = "day-open";
      var text = document.createElement("span");
      text.textContent = words.openLabel || "Open";
      box.setAttribute("aria-label", (words.openLabel || "Open") + ": " + legend.textContent);
      toggle.appendChild(box);
      toggle.appendChild(text);
      legend.insertAdjacentElement("afterend", toggle);
      box.addEventListener("change", function () {
        if (box.checked) { if (!rangeRows(day).some(filled)) { addRange(day).querySelector("input").focus(); } }
        else { rangeRows(day).forEach(dropRow); }
        syncOpen(day);
      });
      syncOpen(day);
    });
    var monday = days[0];
    var copy = document.createElement("button");
    copy.type = "button";
    copy.className = "small secondary copy-monday";
    copy.textContent = words.copyLabel || "Copy Monday to Tuesday–Friday";
    copy.addEventListener("click", function () {
      var ranges = rangeRows(monday).filter(filled).map(function (row) {
        return [row.querySelector('input[name$="-start"]').value, row.querySelector('input[name$="-end"]').value];
      });
      days.slice(1, 5).forEach(function (day) {
        rangeRows(day).forEach(dropRow);
        ranges.forEach(function (range) { addRange(day, range[0], range[1]); });
        syncOpen(day);
      });
    });
    document.querySelector(".weekdays").insertAdjacentElement("afterend", copy);
  }

  document.addEventListener("DOMContentLoaded", function () {
    durationChoices();
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        addRow(button);
        var day = button.closest(".weekday");
        if (day && day.querySelector(".day-open")) {
          var rows = rangeRows(day);
          enhanceRow(rows[rows.length - 1]);
          syncOpen(day);
        }
      });
    });
    compactHours();
    // Dim a row whose "Remove" box is ticked, so the choice is visible.
    document.addEventListener("change", function (event) {
      var box = event.target;
      if (box.matches && box.matches('input[type=checkbox][name$="-DELETE"]')) {
        var row = box.closest("[data-row]");
        if (row) { row.classList.toggle("removed", box.checked); }
      }
    });
  });
})();
