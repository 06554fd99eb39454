/* b24-sandbox: the portal side of an app frame. Posts the hidden form into the frame and answers
 * the messages of /bx24.js running inside it: BX24.init gets the auth, BX24.installFinish marks
 * the installation finished (contract §6.3). */
(function () {
  "use strict";
  var frame = document.getElementById("app-frame");
  var state = document.getElementById("state");
  var auth = JSON.parse(document.getElementById("frame-auth").textContent);
  var finishNode = document.getElementById("frame-finish");
  var finishUrl = finishNode ? JSON.parse(finishNode.textContent) : null;

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow) { return; }
    var data = event.data || {};
    if (data.type === "b24sandbox:init") {
      event.source.postMessage({ type: "b24sandbox:auth", auth: auth }, "*");
    } else if (data.type === "b24sandbox:installFinish" && finishUrl) {
      fetch(finishUrl, { method: "POST" }).then(function (response) {
        state.textContent = response.ok ? "installation finished" : "installation could not be finished";
      });
    } else if (data.type === "b24sandbox:setTitle" && typeof data.title === "string") {
      frame.title = data.title;
    } else if (data.type === "b24sandbox:resizeWindow" || data.type === "b24sandbox:fitWindow") {
      var height = Number(data.height);
      if (height > 0 && height < 10000) { frame.style.height = height + "px"; }
    }
  });
  document.getElementById("frame-post").submit();
})();
