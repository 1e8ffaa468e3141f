/* Every console page: the shop switcher submits when another shop is picked (no inline handlers,
   so the Content-Security-Policy allows scripts from this origin only). */
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var select = e.target;
    if (select && select.id === "shop_id" && select.form) { select.form.submit(); }
  });
})();
