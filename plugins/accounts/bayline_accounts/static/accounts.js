// Passkeys for the customer account (WebAuthn): the server's options are JSON with base64url fields.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) { return; }
  function b64ToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function bufToB64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function post(url, csrf, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: body === undefined ? "{}" : JSON.stringify(body)}).then(function (r) {
      return r.json().then(function (data) { if (!r.ok) { throw new Error(data.message || "Something went wrong."); } return data; });
    });
  }
  function showError(button, message) {
    var box = button.closest("section").querySelector("[data-passkey-error]");
    if (box) { box.textContent = message; box.hidden = false; }
  }
  function credentialJSON(cred) {
    var r = cred.response, out = {id: cred.id, rawId: bufToB64(cred.rawId), type: cred.type, response: {
      clientDataJSON: bufToB64(r.clientDataJSON)}, clientExtensionResults: cred.getClientExtensionResults()};
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = bufToB64(r.authenticatorData);
      out.response.signature = bufToB64(r.signature);
      out.response.userHandle = r.userHandle ? bufToB64(r.userHandle) : null;
    }
    return out;
  }
  var reg = document.querySelector("[data-passkey-register]");
  if (reg) {
    reg.hidden = false;
    reg.addEventListener("click", function () {
      post(reg.dataset.options, reg.dataset.csrf).then(function (o) {
        o.challenge = b64ToBuf(o.challenge);
        o.user.id = b64ToBuf(o.user.id);
        (o.excludeCredentials || []).forEach(function (c) { c.id = b64ToBuf(c.id); });
        return navigator.credentials.create({publicKey: o});
      }).then(function (cred) {
        return post(reg.dataset.verify, reg.dataset.csrf, {credential: credentialJSON(cred), name: "This phone"});
      }).then(function () { window.location.reload(); }, function (e) { showError(reg, e.message); });
    });
  }
  var signIn = document.querySelector("[data-passkey-sign-in]");
  if (signIn) {
    signIn.closest("[hidden]") && (signIn.closest("[hidden]").hidden = false);
    signIn.addEventListener("click", function () {
      post(signIn.dataset.options, signIn.dataset.csrf).then(function (o) {
        o.challenge = b64ToBuf(o.challenge);
        (o.allowCredentials || []).forEach(function (c) { c.id = b64ToBuf(c.id); });
        return navigator.credentials.get({publicKey: o});
      }).then(function (cred) {
        return post(signIn.dataset.verify, signIn.dataset.csrf, credentialJSON(cred));
      }).then(function (data) { window.location.href = data.next; }, function (e) { showError(signIn, e.message); });
    });
  }
}());
