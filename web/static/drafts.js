/* Drafts (concepten) of a task form: while someone types, the form is saved on the server as their own draft
   (a few seconds after the last change, and when the page is left), with the session's CSRF token. Without
   JavaScript the "Concept opslaan" button does the same as an ordinary form post. Nothing here enters the
   dossier: only "Vastleggen en afronden" does. */
(function () {
  'use strict';
  var form = document.querySelector('form[data-draft]');
  if (!form || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute('data-draft');
  var status = document.getElementById('concept-status');
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  var DELAY = 2000;
  var timer = null;
  var changed = false;
  var finishing = false;

  function say(text, failed) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle('draft-failed', !!failed);
  }

  function save(leaving) {
    timer = null;
    if (!changed || finishing) { return; }
    changed = false;
    var headers = { 'Accept': 'application/json' };
    if (tokenMeta) { headers['X-CSRFToken'] = tokenMeta.getAttribute('content'); }
    say('Concept opslaan…', false);
    window.fetch(url, {
      method: 'POST', body: new FormData(form), headers: headers, credentials: 'same-origin',
      keepalive: !!leaving
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; },
                                   function () { return { ok: false, body: {} }; });
    }).then(function (result) {
      if (result.ok && result.body.saved) {
        say(result.body.message, false);
        form.setAttribute('data-draft-saved', result.body.saved_at);
      } else {
        say(result.body.message || 'Het concept is níet opgeslagen. Gebruik de knop ‘Concept opslaan’.', true);
      }
    }, function () {
      changed = true;  // try again with the next change
      say('Het concept is níet opgeslagen (geen verbinding). Uw antwoorden staan nog op deze pagina.', true);
    });
  }

  function later() {
    changed = true;
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(save, DELAY);
  }

  form.addEventListener('input', later);
  form.addEventListener('change', later);
  form.addEventListener('submit', function () {
    // Completing the step, or the button that saves the draft as a normal post: no save from here any more.
    finishing = true;
    if (timer) { window.clearTimeout(timer); timer = null; }
  });
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'hidden' && changed) {
      if (timer) { window.clearTimeout(timer); }
      save(true);
    }
  });
})();
