// leash web page: live refresh. When the daemon reports an event, fetch
// this page again and swap its <main> (server-rendered, already escaped),
// unless the person is typing in a form on it. No dependencies.
(function () {
  "use strict";
  if (!document.body || !document.body.dataset.live || !window.EventSource) return;
  var busy = false, again = false;
  function typing() {
    var a = document.activeElement;
    var main = document.querySelector("main");
    // Typing in a form, or a grant form opened: the person is working there.
    return (a && (a.tagName === "INPUT" || a.tagName === "SELECT") && main.contains(a)) ||
      main.querySelector("details[open]") !== null;
  }
  function refresh() {
    if (busy) { again = true; return; }
    if (typing()) { setTimeout(refresh, 2000); return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var next = new DOMParser().parseFromString(text, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (next && main && next.innerHTML !== main.innerHTML) main.replaceWith(next);
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; setTimeout(refresh, 200); } });
  }
  var events = new EventSource("/ui/events");
  events.onmessage = function () { setTimeout(refresh, 150); };
  // Events sent before the stream was open (between this page's render and
  // now, or during a reconnect) were never seen: fetch once on every open.
  events.onopen = function () {
    refresh();
    document.body.dataset.ready = "1";
  };
})();
