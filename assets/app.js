// Progressive enhancement only: every page works without this file.
// A stream page follows its stream's title and status live (Server-Sent Events), and the
// handle gets a copy button.
"use strict";
(function () {
  var page = document.querySelector("[data-events]");
  if (page && window.EventSource) {
    var source = new EventSource(page.getAttribute("data-events"));
    source.addEventListener("now", function (e) {
      var now = JSON.parse(e.data);
      var title = document.getElementById("title");
      var line = document.getElementById("now");
      if (title && line) {
        title.textContent = now.title;
        line.hidden = now.title === "";
      }
      var status = document.getElementById("status");
      if (status) {
        var live = now.status !== "offline";
        status.innerHTML = "";
        var badge = document.createElement("span");
        badge.className = live ? "badge" : "badge off";
        badge.textContent = live ? "On air" : "Off air";
        status.appendChild(badge);
      }
    });
  }
  document.querySelectorAll("button.copy").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-copy")).textContent;
      navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
    });
  });
})();
