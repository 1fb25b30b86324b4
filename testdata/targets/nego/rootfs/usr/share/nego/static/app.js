// nego's front-end: marks the current language in the page and formats prices.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var fmt = new Intl.NumberFormat(lang.replace("_", "-"), { minimumFractionDigits: 2 });
  document.querySelectorAll("dd, td").forEach(function (cell) {
    var n = parseFloat(cell.textContent);
    if (!isNaN(n) && /^[0-9.]+$/.test(cell.textContent.trim())) {
      cell.textContent = fmt.format(n);
    }
  });
  document.body.setAttribute("data-lang", lang);
  console.log("nego ready (" + lang + ")");
})();
