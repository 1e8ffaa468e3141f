// The referral card's Share button: the phone's share sheet, else copy the link.
(function () {
  "use strict";
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
