// Twofold portal: small enhancements only. Every page works without this
// script; it adds the copy and print buttons, live countdowns, and local
// times.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="text" hidden>.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    if (!navigator.clipboard) return;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var status = document.getElementById("copy-status");
      navigator.clipboard.writeText(btn.getAttribute("data-copy")).then(function () {
        if (status) status.textContent = "Copied.";
      }, function () {
        if (status) status.textContent = "Could not copy; select the key and copy it yourself.";
      });
    });
  });

  // Print button on the backup codes page.
  var print = document.getElementById("print-codes");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }

  // Countdowns: <span class="countdown" data-seconds="N">.
  document.querySelectorAll(".countdown[data-seconds]").forEach(function (el) {
    var left = parseInt(el.getAttribute("data-seconds"), 10);
    if (!(left > 0)) return;
    var tick = function () {
      if (left <= 0) {
        el.textContent = "now";
        clearInterval(timer);
        return;
      }
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = m > 0 ? m + " min " + (s < 10 ? "0" : "") + s + " s" : s + " seconds";
      left--;
    };
    var timer = setInterval(tick, 1000);
    tick();
  });

  // --- Codes sent by email or text message (sent.go) -----------------
  // <p data-countdown="N" data-done="text">… <span class="left">…</span> …</p>
  // counts N seconds down in .left, then reads data-done instead.
  // <button data-wait="N"> stays disabled for N seconds; without this
  // script it is enabled and the server answers with the time left.
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var left = parseInt(el.getAttribute("data-countdown"), 10);
    var span = el.querySelector(".left");
    if (!(left > 0) || !span) return;
    var tick = function () {
      if (left <= 0) {
        el.textContent = el.getAttribute("data-done") || "";
        var live = document.getElementById(el.getAttribute("data-announce") || "");
        if (live) live.textContent = el.getAttribute("data-done") || "";
        clearInterval(timer);
        return;
      }
      var m = Math.floor(left / 60), s = left % 60;
      span.textContent = m > 0 ? m + " min " + (s < 10 ? "0" : "") + s + " s" : s + (s === 1 ? " second" : " seconds");
      left--;
    };
    var timer = setInterval(tick, 1000);
    tick();
  });
  document.querySelectorAll("button[data-wait]").forEach(function (btn) {
    var wait = parseInt(btn.getAttribute("data-wait"), 10);
    if (!(wait > 0)) return;
    btn.disabled = true;
    setTimeout(function () { btn.disabled = false; }, wait * 1000);
  });

  // Times: show <time datetime> in the reader's own time zone.
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d.getTime())) return;
    el.title = el.textContent;
    el.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  });

  // App sign-in: <a data-follow> is where the browser goes next (back to
  // the app); follow it at once. Without script the user clicks it.
  var follow = document.querySelector("a[data-follow]");
  if (follow) {
    window.location.replace(follow.href);
  }
})();
