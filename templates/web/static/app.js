/* Frontdesk public pages: small progressive enhancements; everything works without them.
   Loaded as a file (the Content-Security-Policy forbids inline script). */
(function () {
  "use strict";
  document.body.classList.add("js-enabled");

  // Error summary: move focus to it so screen readers announce the problems (GOV.UK pattern).
  var summary = document.querySelector("[data-module='error-summary']");
  if (summary) { summary.focus(); }

  // Conditional reveal: a radio or checkbox shows the questions that belong to it.
  function syncConditionals() {
    var inputs = document.querySelectorAll("input[data-aria-controls]");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      var target = document.getElementById(input.getAttribute("data-aria-controls"));
      if (!target) { continue; }
      input.setAttribute("aria-controls", target.id);
      var hiddenClass = target.className.indexOf("checkboxes__") >= 0 ? "checkboxes__conditional--hidden" : "radios__conditional--hidden";
      target.classList.toggle(hiddenClass, !input.checked);
    }
  }
  var groups = document.querySelectorAll("[data-module='conditional']");
  for (var g = 0; g < groups.length; g++) { groups[g].addEventListener("click", syncConditionals); groups[g].addEventListener("change", syncConditionals); }
  syncConditionals();

  // Exit this page: leave at once, and replace history so Back does not return here.
  var exit = document.querySelector("[data-exit-page]");
  function leave() {
    document.body.classList.add("js-exiting");
    document.title = "";
    window.location.replace(exit.getAttribute("href"));
  }
  if (exit) {
    exit.addEventListener("click", function (event) { event.preventDefault(); leave(); });
    var presses = 0, timer = null;
    document.addEventListener("keyup", function (event) {
      if (event.key !== "Shift") { presses = 0; return; }
      presses += 1;
      clearTimeout(timer);
      timer = setTimeout(function () { presses = 0; }, 5000);
      if (presses >= 3) { leave(); }
    });
  }

  // Print: a button only when printing can work (it needs script).
  var print = document.querySelector("[data-print]");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }

  // Prevent double click: a second click within a second does nothing (the server also
  // turns a repeated submission into one case).
  var buttons = document.querySelectorAll("[data-prevent-double-click]");
  for (var b = 0; b < buttons.length; b++) {
    buttons[b].addEventListener("click", function (event) {
      var button = event.currentTarget;
      if (button.getAttribute("data-clicked")) { event.preventDefault(); return; }
      button.setAttribute("data-clicked", "1");
      setTimeout(function () { button.removeAttribute("data-clicked"); }, 1000);
    });
  }
})();
