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
        var kind = { live: ["badge", "On air"], ending: ["badge ending", "Ending"] }[now.status]
          || ["badge off", "Off air"];
        status.innerHTML = "";
        var badge = document.createElement("span");
        badge.className = kind[0];
        badge.textContent = kind[1];
        status.appendChild(badge);
      }
      // Once the source is gone there is nothing to play.
      var player = document.getElementById("player");
      if (player && now.status !== "live") {
        player.querySelectorAll("audio").forEach(function (a) { a.pause(); });
        player.hidden = true;
      } else if (player) {
        player.hidden = false;
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
// The schedule form starts in the broadcaster's own zone.
(function () {
  var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  document.querySelectorAll("input[data-zone]").forEach(function (i) {
    if (i.value === "UTC") i.value = zone;
  });
})();
// Show times in the visitor's own zone, the zone named (the page says them in the show's).
(function () {
  if (!window.Intl) return;
  var format = new Intl.DateTimeFormat([], {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  });
  document.querySelectorAll("time[data-local]").forEach(function (t) {
    var at = new Date(t.getAttribute("datetime"));
    if (isNaN(at)) return;
    t.title = t.textContent;
    t.textContent = format.format(at);
  });
})();
// A new YP URL's panel says when Icecast first calls with it, and what it was told.
(function () {
  var line = document.querySelector("[data-status]");
  if (!line || !window.fetch) return;
  var url = line.getAttribute("data-status");
  var seenAt = null;
  function ask() {
    fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) {
        if (r.status >= 400 && r.status < 500) return "stop"; // signed out, or not ours
        return r.ok ? r.json() : null;
      })
      .then(function (s) {
        if (s === "stop") return;
        if (!s || s.state === "waiting") { setTimeout(ask, 3000); return; }
        if (s.at !== seenAt) {
          seenAt = s.at;
          line.className = s.state === "ok" ? "setup ok" : "setup refused";
          line.textContent = s.state === "ok"
            ? "Icecast called (" + s.action + "): " + s.message + ". "
            : "Icecast was refused (" + s.action + "): " + s.message;
          if (s.state === "ok") {
            var link = document.createElement("a");
            link.href = line.getAttribute("data-dashboard");
            link.textContent = "See your stream";
            line.appendChild(link);
          }
        }
        // After a refusal, the fix and a reconnect bring another call: keep listening.
        if (s.state !== "ok") setTimeout(ask, 10000);
      })
      .catch(function () { setTimeout(ask, 10000); });
  }
  ask();
})();
