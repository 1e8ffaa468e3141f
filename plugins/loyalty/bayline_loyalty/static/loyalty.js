// Referrals: the referral page remembers the code in this browser; the new repair's portal card fills
// it in; the points card's Share button uses the phone's share sheet, else copies the link.
(function () {
  "use strict";
  if (window.baylineLoyalty) { return; }  // two cards may each load this file
  window.baylineLoyalty = true;
  var KEY = "bayline_referral_code";
  var remember = document.querySelector("[data-remember]");
  if (remember) {
    try { window.localStorage.setItem(KEY, remember.dataset.remember); } catch (e) { /* private mode */ }
  }
  var friend = document.getElementById("loyalty-friend-code");
  if (friend && !friend.value) {
    try { friend.value = window.localStorage.getItem(KEY) || ""; } catch (e) { /* private mode */ }
  }
  var button = document.getElementById("loyalty-share");
  if (!button) { return; }
  button.addEventListener("click", function () {
    var url = button.dataset.shareUrl, done = document.getElementById("loyalty-shared");
    if (navigator.share) {
      navigator.share({title: document.title, text: button.dataset.shareText, url: url}).catch(function () {});
      return;
    }
    var field = document.getElementById("loyalty-link");
    field.select();
    var copied = navigator.clipboard ? navigator.clipboard.writeText(url) : Promise.resolve(document.execCommand("copy"));
    copied.then(function () { if (done) { done.hidden = false; } });
  });
}());
