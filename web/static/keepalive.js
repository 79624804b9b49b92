/* While someone is writing in a task form, keep the session alive (the idle timeout is for idle people).
   Without JavaScript the idle timeout simply applies. */
(function () {
  'use strict';
  var form = document.querySelector('form[data-keepalive]');
  if (!form || !window.fetch) { return; }
  var typed = false;
  form.addEventListener('input', function () { typed = true; });
  window.setInterval(function () {
    if (!typed) { return; }
    typed = false;
    window.fetch(form.getAttribute('data-keepalive'), { credentials: 'same-origin' });
  }, 60000);
})();
