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

  document.addEventListener("DOMContentLoaded", function () {
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
