// Findings filter of the middlebrick HTML report: reads DOM attributes only, sends nothing.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) {
    return;
  }
  var findings = Array.prototype.slice.call(document.querySelectorAll("article.finding"));
  var shown = document.getElementById("shown-count");
  var category = form.querySelector("select[name=category]");

  function apply() {
    var severities = {};
    form.querySelectorAll("input[name=severity]").forEach(function (box) {
      severities[box.value] = box.checked;
    });
    var count = 0;
    findings.forEach(function (finding) {
      var visible = severities[finding.getAttribute("data-severity")] === true &&
        (category.value === "" || finding.getAttribute("data-category") === category.value);
      finding.hidden = !visible;
      if (visible) {
        count += 1;
      }
    });
    shown.textContent = String(count);
  }

  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
  });
  apply();
})();
