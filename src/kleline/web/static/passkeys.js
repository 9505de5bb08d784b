// Kleline's passkey ceremonies (WebAuthn), the only script of the pages, loaded where a ceremony is offered.
//
// A form marked data-passkey="create" or "get" carries the server's options as JSON in data-options. On submit,
// the browser's authenticator is asked (navigator.credentials), its response goes into the form's hidden
// "credential" field as JSON, and the form is posted as usual: the server verifies everything. Without this
// script the forms still post, and the server explains that a passkey needs JavaScript.
"use strict";

(function () {
  function fromBase64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: fromBase64url(item.id), transports: item.transports };
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.user = Object.assign({}, json.user, { id: fromBase64url(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function responseJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      if (response.userHandle) out.response.userHandle = toBase64url(response.userHandle);
    }
    return JSON.stringify(out);
  }

  function ceremony(form) {
    var kind = form.getAttribute("data-passkey");
    var json = JSON.parse(form.getAttribute("data-options"));
    var status = form.querySelector("[data-passkey-status]");
    var button = form.querySelector("button[type=submit]");
    var asked = kind === "create"
      ? navigator.credentials.create({ publicKey: creationOptions(json) })
      : navigator.credentials.get({ publicKey: requestOptions(json) });
    if (button) button.disabled = true;
    return asked.then(function (credential) {
      form.querySelector("input[name=credential]").value = responseJSON(credential);
      form.submit();
    }).catch(function () {
      if (button) button.disabled = false;
      if (status) status.textContent = form.getAttribute("data-failed");
    });
  }

  // A required field left empty (a new passkey's name): the form is posted as it is and the server names what is
  // missing, before any device is asked to make a passkey the server would then refuse to keep.
  function blank(form) {
    return Array.prototype.some.call(form.querySelectorAll("input[required]"), function (input) {
      return !input.value.trim();
    });
  }

  function start() {
    if (!window.PublicKeyCredential || !navigator.credentials) return; // the page's own text then stands
    var forms = document.querySelectorAll("form[data-passkey]");
    Array.prototype.forEach.call(forms, function (form) {
      Array.prototype.forEach.call(form.querySelectorAll(".needs-script"), function (note) { note.hidden = true; });
      Array.prototype.forEach.call(form.querySelectorAll("[data-script-only]"), function (item) { item.hidden = false; });
      form.addEventListener("submit", function (event) {
        if (form.querySelector("input[name=credential]").value || blank(form)) return;
        event.preventDefault();
        ceremony(form);
      });
      // A sign-in page opens the passkey chooser at once; where the browser wants a click first, the button stays.
      if (form.hasAttribute("data-autostart")) ceremony(form);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
