/*
 * carefront's "Print this page" button on the paper copy: the page's one other
 * script. Served as an external file (the Content-Security-Policy forbids inline
 * script and javascript: links). Without JavaScript the button stays hidden and
 * the page says how to print from the browser's menu.
 *
 * Markup contract: <button type="button" hidden data-print>Print this page</button>
 */
(function () {
  "use strict";
  if (typeof window.print !== "function") return;
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () {
      window.print();
    });
  }
})();
