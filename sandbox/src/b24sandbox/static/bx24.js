/* b24-sandbox stand-in for the BX24 JS SDK (contract §6.3): enough for an install page or a
 * placement page to initialise, read its auth and call BX24.installFinish(). */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src).origin : window.location.origin;
  var query = new URLSearchParams(window.location.search);
  var framed = window.parent && window.parent !== window;
  var auth = null;

  function toParent(message) {
    if (framed) { window.parent.postMessage(message, "*"); }
  }

  function call(method, params, callback) {
    var body = Object.assign({}, params || {}, { auth: auth ? auth.access_token : "" });
    var endpoint = auth && auth.client_endpoint ? auth.client_endpoint : origin + "/rest/";
    fetch(endpoint + method + ".json", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) { return r.json(); }).then(function (answer) {
      if (callback) {
        callback({
          data: function () { return answer.result; },
          error: function () { return answer.error ? answer.error + ": " + answer.error_description : null; },
          answer: answer,
        });
      }
    });
  }

  window.BX24 = {
    init: function (callback) {
      if (!framed) { setTimeout(callback, 0); return; }
      var done = false;
      function ready() { if (!done) { done = true; callback(); } }
      window.addEventListener("message", function (event) {
        if (event.data && event.data.type === "b24sandbox:auth") { auth = event.data.auth; ready(); }
      });
      toParent({ type: "b24sandbox:init", APP_SID: query.get("APP_SID") });
      setTimeout(ready, 1000);
    },
    installFinish: function () {
      var sid = query.get("APP_SID") || "";
      toParent({ type: "b24sandbox:installFinish", APP_SID: sid });
      // Fallback when no sandbox page hosts the frame: tell the sandbox directly.
      fetch(origin + "/_sandbox/apps/_/install-finish?APP_SID=" + encodeURIComponent(sid), { method: "POST" });
    },
    getAuth: function () { return auth; },
    refreshAuth: function (callback) { if (callback) { callback(auth); } },
    callMethod: call,
    fitWindow: function () { toParent({ type: "b24sandbox:fitWindow", height: document.body.scrollHeight }); },
    resizeWindow: function (width, height) { toParent({ type: "b24sandbox:resizeWindow", width: width, height: height }); },
    setTitle: function (title) { toParent({ type: "b24sandbox:setTitle", title: title }); },
    getLang: function () { return query.get("LANG") || "en"; },
    getDomain: function () { return query.get("DOMAIN") || ""; },
    isAdmin: function () { return true; },
    placement: { info: function () { return { placement: "DEFAULT", options: {} }; } },
  };
})();
