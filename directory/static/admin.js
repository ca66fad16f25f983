// Keyboard shortcuts for the stewards' UI. Every action also works without them.
(function () {
  "use strict";
  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  function clickDecision(value) {
    var button = document.querySelector('form.decide button[value="' + value + '"]');
    if (button) { button.click(); }
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.candidate"));
  var selected = rows.length ? 0 : -1;
  function select(index) {
    if (!rows.length) { return; }
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("selected", i === selected); });
    var link = rows[selected].querySelector("a.open");
    if (link) { link.focus(); }
  }
  rows.forEach(function (row) {
    row.addEventListener("click", function (event) {
      if (event.target.tagName !== "A") { window.location.href = row.dataset.href; }
    });
  });
  if (rows.length) { rows[0].classList.add("selected"); }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key === "/" && !typing(event)) {
      var search = document.getElementById("q");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    if (typing(event)) { return; }
    var page = document.body.dataset.page;
    if (page === "review") {
      if (event.key === "s") { clickDecision("same"); }
      else if (event.key === "d") { clickDecision("different"); }
      else if (event.key === "u") { clickDecision("unsure"); }
      else if (event.key === "n") { document.getElementById("next").click(); }
    } else if (page === "queue") {
      if (event.key === "j" || event.key === "ArrowDown") { event.preventDefault(); select(selected + 1); }
      else if (event.key === "k" || event.key === "ArrowUp") { event.preventDefault(); select(selected - 1); }
      else if (event.key === "Enter" && selected >= 0 && document.activeElement.tagName !== "A") {
        window.location.href = rows[selected].dataset.href;
      }
    }
  });
}());
