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

  document.addEventListener("DOMContentLoaded", function () {
    durationChoices();
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { addRow(button); });
    });
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
