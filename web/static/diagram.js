/* The case file's diagram: bpmn-js NavigatedViewer with completed elements and the current position marked.
   Progressive enhancement: the page is complete without it (the timeline shows the same steps). */
(function () {
  'use strict';
  var holder = document.getElementById('diagram');
  var source = document.getElementById('diagram-data');
  var message = document.getElementById('diagram-melding');
  if (!holder || !source) { return; }

  function fail(text) {
    holder.setAttribute('data-state', 'error');
    holder.hidden = true;
    message.textContent = text;
    message.hidden = false;
  }

  var data;
  try { data = JSON.parse(source.textContent); } catch (e) { fail('Het diagram kon niet worden gelezen.'); return; }
  if (!data.src && !data.xml) { fail('Bij deze zaak is geen diagram bewaard.'); return; }
  if (typeof window.BpmnJS !== 'function') {
    fail('De diagramviewer ontbreekt op de server (voer "npm ci" uit). De tijdlijn hieronder toont dezelfde stappen.');
    return;
  }

  // The source is at an address of its own (the browser keeps it: a process version never changes); the
  // positions of this case come with the page.
  var xml = data.src ? fetch(data.src, { credentials: 'same-origin' }).then(function (response) {
    if (!response.ok) { throw new Error('het diagram kon niet worden opgehaald (' + response.status + ')'); }
    return response.text();
  }) : Promise.resolve(data.xml);
  var viewer = new window.BpmnJS({ container: holder });
  xml.then(function (text) { return viewer.importXML(text); }).then(function () {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var missing = [];
    function mark(ids, cls) {
      (ids || []).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, cls); } else { missing.push(id); }
      });
    }
    mark(data.completed, 'mc-completed');
    mark(data.active, 'mc-active');
    var current = (data.active || []).map(function (id) { return registry.get(id); }).filter(Boolean);

    function fitPage() { canvas.zoom('fit-viewport', 'auto'); }
    // "Hele proces": fit the diagram to the width of the view, not to the whole box. The box grows in height to the
    // diagram's proportions (up to most of the window); what is taller is reached by dragging, not by shrinking
    // the diagram until its labels cannot be read.
    function whole() {
      var pad = 20;
      var inner = canvas.viewbox().inner;
      var width = holder.clientWidth;
      if (!inner.width || !width) { fitPage(); return; }
      var scale = width / (inner.width + 2 * pad);
      var tallest = Math.max(320, Math.round(window.innerHeight * 0.85));
      holder.style.height = Math.min(Math.max(Math.round((inner.height + 2 * pad) * scale), 320), tallest) + 'px';
      canvas.resized();
      canvas.viewbox({ x: inner.x - pad, y: inner.y - pad, width: width / scale, height: holder.clientHeight / scale });
      holder.setAttribute('data-view', 'geheel');
    }
    function focus() {
      // Large diagrams become unreadable when fitted: show the current step at a legible scale.
      if (!current.length) { fitPage(); return; }
      holder.setAttribute('data-view', 'huidig');
      canvas.zoom(0.9);
      var box = canvas.viewbox();
      var el = current[0];
      canvas.viewbox({ x: el.x + el.width / 2 - box.width / 2, y: el.y + el.height / 2 - box.height / 2,
                       width: box.width, height: box.height });
    }
    fitPage();
    if (current.length && canvas.viewbox().scale < 0.5) { focus(); }

    var controls = document.getElementById('diagram-knoppen');
    if (controls) {
      controls.hidden = false;
      controls.querySelector('[data-view=geheel]').addEventListener('click', whole);
      controls.querySelector('[data-view=huidig]').addEventListener('click', focus);
    }
    holder.setAttribute('data-state', 'ready');
    holder.setAttribute('data-missing', missing.join(' '));
  }).catch(function (err) {
    var text = (err && err.message) || String(err);
    if (/no diagram to display/i.test(text)) {
      fail('Dit procesdiagram heeft geen tekening (BPMN DI), dus het kan niet worden getoond.');
    } else {
      fail('Het diagram kan niet worden getoond: ' + text);
    }
  });
})();
