/* spoor.js: page views and custom events for spoor's dashboard. No cookies, no dependencies.
 * <script defer src="http://127.0.0.1:8080/spoor.js" data-app="myapp"></script>
 * spoor.track("signup", {plan: "pro"}); spoor.identify("user-42"); spoor.reset();
 * Nothing is sent when the browser asks not to be tracked (Do Not Track, Global Privacy Control). */
(function (w, d) {
  "use strict";
  var s = d.currentScript, nav = w.navigator, key = "spoor_id", queue = [], timer = 0, last, id;
  var app = s && s.getAttribute("data-app");
  var api = new URL("/api/track", s ? s.src : location.href).href;
  var off = nav.doNotTrack == "1" || w.doNotTrack == "1" || nav.globalPrivacyControl === true;
  var early = w.spoor && w.spoor.q || [];

  function random() {
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  function keep(value) {
    id = value;
    try { localStorage.setItem(key, id); } catch (e) { /* storage refused: this page only */ }
  }
  try { id = localStorage.getItem(key); } catch (e) { /* storage refused */ }
  if (!id) keep(random());

  function url() { return api + "?sent_at=" + Date.now() / 1000; }
  function flush(leaving) {
    clearTimeout(timer);
    timer = 0;
    if (!queue.length) return;
    var body = JSON.stringify(queue);
    queue = [];
    // A text/plain body needs no CORS preflight, and sendBeacon outlives the page.
    if (leaving && nav.sendBeacon && nav.sendBeacon(url(), new Blob([body], {type: "text/plain"}))) return;
    fetch(url(), {method: "POST", body: body, keepalive: true, credentials: "omit",
      headers: {"Content-Type": "text/plain"}}).catch(function () {});
  }
  function track(event, props) {
    if (off || !app) return;
    var kept = {};
    for (var k in props || {}) {
      var v = props[k], t = typeof v;
      // What the server would refuse is left out here, so one bad property loses no batch.
      if (/^[A-Za-z][A-Za-z0-9_]*$/.test(k) && (t == "string" || t == "boolean" || t == "number" && isFinite(v))) kept[k] = v;
      else if (w.console) console.warn("spoor: property " + k + " left out: keys are letters, digits and _, values strings, numbers or booleans");
    }
    queue.push({application: app, event: String(event), distinct_id: id, properties: kept, time: Date.now() / 1000});
    if (queue.length >= 20) flush();
    else if (!timer) timer = setTimeout(flush, 2000);
  }
  function page() {
    if (location.pathname === last) return;
    last = location.pathname;
    var p = {path: last, screen_width: screen.width, screen_height: screen.height};
    // The referrer without its query, which may hold what is not ours to keep.
    try { var r = new URL(d.referrer); p.referrer = r.origin + r.pathname; } catch (e) { /* none */ }
    track("pageview", p);
  }

  var spoor = w.spoor = {
    track: track,
    page: page,
    flush: flush,
    identify: function (user) { keep(String(user)); },
    reset: function () { keep(random()); }
  };
  if (!app && w.console) console.warn("spoor: add data-app=\"your-app\" to the script tag");
  var push = history.pushState;
  history.pushState = function () { push.apply(history, arguments); page(); };
  w.addEventListener("popstate", page);
  d.addEventListener("visibilitychange", function () { if (d.visibilityState == "hidden") flush(true); });
  w.addEventListener("pagehide", function () { flush(true); });
  if (!s || s.getAttribute("data-pageviews") != "false") page();
  early.forEach(function (call) { spoor[call[0]].apply(null, call[1]); });
})(window, document);
