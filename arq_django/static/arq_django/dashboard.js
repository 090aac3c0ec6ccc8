// The jobs dashboard's refresh: re-reads the page's body every few seconds while the tab is visible
// (it stops while hidden), and sends the Retry / Abort buttons without leaving the page.
// Without JavaScript the page is complete; the buttons post forms and come back here.
(function () {
  "use strict";
  var root = document.getElementById("arq-dashboard");
  if (!root) return;
  var every = (Number(root.dataset.refresh) || 5) * 1000;
  var timer = null;
  var state = document.getElementById("arq-refresh-state");
  var flash = document.createElement("ul");
  flash.id = "arq-flash";
  flash.className = "messagelist";
  root.parentNode.insertBefore(flash, root);
  root.dataset.refreshes = "0";

  function headers() {
    return { "X-Requested-With": "arq-dashboard" };
  }

  function refresh() {
    return fetch(root.dataset.partialUrl, { headers: headers(), credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok || r.redirected) throw new Error("refresh answered " + r.status);
        return r.text();
      })
      .then(function (html) {
        root.innerHTML = html;
        root.dataset.refreshes = String(Number(root.dataset.refreshes) + 1);
        if (state) state.textContent = "Updated " + new Date().toLocaleTimeString() + "; refreshes every " + every / 1000 + " s while this tab is visible.";
      })
      .catch(function (e) {
        if (state) state.textContent = "Refresh failed (" + e.message + "); reload the page.";
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (document.hidden) return;
    timer = setTimeout(function () { refresh().then(schedule); }, every);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(timer);
      timer = null;
      root.dataset.paused = "1";
    } else {
      delete root.dataset.paused;
      refresh().then(schedule);
    }
  });

  function say(ok, text) {
    var li = document.createElement("li");
    li.className = ok ? "success" : "error";
    li.textContent = text;
    flash.replaceChildren(li);
  }

  root.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-arq-action]");
    if (!form) return;
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    fetch(form.action, { method: "POST", body: new FormData(form), headers: headers(), credentials: "same-origin" })
      .then(function (r) {
        return r.json().catch(function () { return { ok: false, message: "The server answered " + r.status + "." }; });
      })
      .then(function (data) { say(data.ok, data.message); return refresh(); })
      .then(schedule);
  });

  schedule();
})();
