/* The studio's draft editor: bpmn-js modeler for BPMN files, a JSON editor with live preview for forms, checks
   with the element highlighted, scenario runs, comparison coloured on the canvas. Everything is saved on the
   server (POST with the page's CSRF token); nothing is kept only in the browser. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("draft-data").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var select = document.getElementById("file-select");
  var statusEl = document.getElementById("status");
  var textArea = document.getElementById("text-content");
  var textEditor = document.getElementById("text-editor");
  var canvasEl = document.getElementById("canvas");
  // Our extension properties (spiffworkflow:properties, instructionsForEndUser, ...) as typed moddle elements.
  var spiff = JSON.parse(document.getElementById("spiffworkflow-moddle").textContent);
  var modeler = new BpmnJS({ container: canvasEl, moddleExtensions: { spiffworkflow: spiff } });
  var selected = null;
  var current = null;
  var markers = [];
  var previewTimer = null;

  function say(text) { statusEl.textContent = text; }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        json._status = response.status; return json;
      });
    });
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function clearMarkers() {
    var canvas = modeler.get("canvas");
    markers.forEach(function (m) { try { canvas.removeMarker(m[0], m[1]); } catch (e) { /* gone */ } });
    markers = [];
  }

  function mark(id, cls) {
    var registry = modeler.get("elementRegistry");
    if (current && current.endsWith(".bpmn") && registry.get(id)) {
      modeler.get("canvas").addMarker(id, cls);
      markers.push([id, cls]);
      return true;
    }
    return false;
  }

  function focus(id) {
    var element = modeler.get("elementRegistry").get(id);
    if (!element) { return; }
    var canvas = modeler.get("canvas");
    var box = canvas.viewbox();
    canvas.viewbox({ x: element.x + element.width / 2 - box.width / 2, y: element.y + element.height / 2 - box.height / 2,
                     width: box.width, height: box.height });
    canvasEl.scrollIntoView({ block: "center" });
  }

  var dmnEl = document.getElementById("dmn-canvas");
  var dmnModeler = null;

  function loadDmnJs() {
    // Loaded only when a decision table is opened (it is large, and most edits are diagrams or forms).
    if (window.DmnJS) { return Promise.resolve(); }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = dmnEl.dataset.src;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("dmn-js kon niet worden geladen")); };
      document.body.appendChild(script);
    });
  }

  function openDmn(name) {
    canvasEl.parentNode.hidden = true; textEditor.hidden = true; dmnEl.hidden = false;
    return loadDmnJs().then(function () {
      dmnModeler = dmnModeler || new DmnJS({ container: dmnEl });
      return dmnModeler.importXML(data.files[name]);
    }).then(function () {
      var table = dmnModeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      if (table) { return dmnModeler.open(table); }
      return null;
    }).then(function () { say("Geopend: " + name); })
      .catch(function (err) { say("Kan " + name + " niet tonen: " + err.message); });
  }

  function open(name) {
    current = name;
    clearMarkers();
    dmnEl.hidden = true;
    if (name.endsWith(".dmn")) { return openDmn(name); }
    if (name.endsWith(".bpmn")) {
      textEditor.hidden = true; canvasEl.parentNode.hidden = false;
      return modeler.importXML(data.files[name]).then(function () {
        // A long route is unreadable when fitted: start at 100 % at its beginning instead.
        var canvas = modeler.get("canvas");
        var inner = canvas.viewbox().inner;
        if (inner.width > 2 * canvasEl.clientWidth) {
          canvas.viewbox({ x: inner.x - 20, y: inner.y - 20, width: canvasEl.clientWidth, height: canvasEl.clientHeight });
        } else {
          canvas.zoom("fit-viewport");
        }
        say("Geopend: " + name);
      }).catch(function (err) { say("Kan " + name + " niet tonen: " + err.message); });
    }
    canvasEl.parentNode.hidden = true; textEditor.hidden = false;
    textArea.value = data.files[name];
    preview();
    say("Geopend: " + name);
    return Promise.resolve();
  }

  function currentContent() {
    if (current.endsWith(".bpmn")) {
      return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
    }
    if (current.endsWith(".dmn")) {
      return dmnModeler.saveXML({ format: true }).then(function (result) { return result.xml; });
    }
    return Promise.resolve(textArea.value);
  }

  function save() {
    return currentContent().then(function (content) {
      if (content === data.files[current]) { return true; }
      return post("/studio/concept/bestand", { id: data.id, name: current, content: content }).then(function (r) {
        if (!r.ok) { say("Niet opgeslagen: " + (r.error ? r.error.message : "fout " + r._status)); return false; }
        data.files[current] = content;
        say("Opgeslagen (" + current + ")");
        checkQuietly();  // checks while editing: every save is checked at once
        return true;
      });
    });
  }

  function preview() {
    var target = document.getElementById("form-preview");
    if (!current || !current.startsWith("forms/") || current.endsWith(".uischema.json")) { target.textContent = ""; return; }
    var schema;
    try { schema = JSON.parse(textArea.value); } catch (e) { target.textContent = "Geen geldige JSON: " + e.message; return; }
    post("/studio/concept/voorbeeld", { id: data.id, schema: schema }).then(function (r) {
      if (r.error) { target.textContent = r.error; return; }
      target.innerHTML = r.html;  // rendered and escaped by the server's template
    });
  }

  function showProblems(problems) {
    var list = document.getElementById("problems");
    list.textContent = "";
    clearMarkers();
    if (!problems.length) { list.appendChild(el("li", "Geen problemen gevonden.", "ok")); return; }
    problems.forEach(function (p) {
      var item = el("li", null, "problem " + p.severity);
      var where = p.filename + (p.element_id ? " · " + p.element_id : "");
      item.appendChild(el("strong", (p.severity === "error" ? "Fout" : "Waarschuwing") + " (" + p.source + ")"));
      item.appendChild(document.createTextNode(" " + where + ": " + p.message));
      if (p.element_id && p.filename === current) {
        mark(p.element_id, "studio-problem");
        var button = el("button", "Toon", "link");
        button.type = "button";
        button.addEventListener("click", function () { focus(p.element_id); });
        item.appendChild(document.createTextNode(" "));
        item.appendChild(button);
      }
      list.appendChild(item);
    });
  }

  function checkQuietly() {
    post("/studio/concept/controleren", { id: data.id }).then(function (r) { showProblems(r.problems || []); });
  }

  function summarize(value) {
    if (value && typeof value === "object" && Array.isArray(value.each)) { return "achtereenvolgens " + value.each.join(", "); }
    return String(value);
  }

  function renderScenarios(results) {
    var body = document.querySelector("#scenario-table tbody");
    body.textContent = "";
    var byFile = {};
    (results || []).forEach(function (r) { byFile[r.file] = r; });
    Object.keys(data.scenarios).sort().forEach(function (file) {
      var s = data.scenarios[file];
      var row = el("tr");
      row.dataset.file = file;
      var name = el("td");
      var link = el("button", s.name || file, "link");
      link.type = "button";
      link.addEventListener("click", function () {
        document.getElementById("scenario-name").value = file;
        document.getElementById("scenario-json").value = JSON.stringify(s, null, 2);
      });
      name.appendChild(link);
      row.appendChild(name);
      var answers = el("td");
      var list = el("ul", null, "compact");
      Object.keys(s.answers || {}).forEach(function (k) { list.appendChild(el("li", k + " = " + summarize(s.answers[k]))); });
      answers.appendChild(list);
      row.appendChild(answers);
      var expect = s.expect || {};
      var parts = [];
      if (expect.milestones_include) { parts.push("bereikt: " + expect.milestones_include.join(", ")); }
      if (expect.milestones_exclude) { parts.push("niet: " + expect.milestones_exclude.join(", ")); }
      if (expect.milestones_sequence) { parts.push("volgorde: " + expect.milestones_sequence.join(" → ")); }
      if (expect.state) { parts.push("toestand: " + expect.state); }
      row.appendChild(el("td", parts.join("; ")));
      var result = byFile[file];
      var cell = el("td", result ? (result.passed ? "geslaagd" : "mislukt") : "—", result ? (result.passed ? "ok" : "failed") : "");
      if (result) {
        cell.appendChild(el("div", "mijlpalen: " + (result.milestones.join(", ") || "geen"), "muted"));
        if (result.error) { cell.appendChild(el("div", result.error, "error-text")); }
      }
      row.appendChild(cell);
      body.appendChild(row);
    });
  }

  function showChanges(files) {
    var box = document.getElementById("changes");
    box.textContent = "";
    clearMarkers();
    if (!files.length) { box.appendChild(el("p", "Geen verschillen.")); return; }
    var labels = { added: "toegevoegd", removed: "verwijderd", changed: "gewijzigd" };
    files.forEach(function (f) {
      var section = el("div", null, "change-file");
      section.appendChild(el("h3", f.filename + (f.status !== "changed" ? " (" + labels[f.status] + ")" : "")));
      var list = el("ul");
      ["added", "removed", "changed"].forEach(function (kind) {
        f[kind].forEach(function (item) {
          var text = labels[kind] + ": " + item.type + " " + item.id + (item.name ? " ‘" + item.name + "’" : "");
          if (kind === "changed" && item.what === "naam") { text += " (was ‘" + item.old_name + "’)"; }
          list.appendChild(el("li", text, "change " + kind));
          if (f.filename === current && kind !== "removed") { mark(item.id, "studio-" + kind); }
        });
      });
      section.appendChild(list);
      box.appendChild(section);
    });
  }

  // -- the properties of the selected element ------------------------------------------------
  function extension(bo, type) {
    var values = bo.extensionElements && bo.extensionElements.values || [];
    return values.filter(function (v) { return v.$type === type; })[0] || null;
  }

  function property(bo, name) {
    var props = extension(bo, "spiffworkflow:Properties");
    var found = props && (props.properties || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value : "";
  }

  function milestoneHint(id) {
    var name = (id || "").split("__")[0];
    return spiffMilestones.indexOf(name) >= 0 ? "Mijlpaal: " + name : "";
  }
  var spiffMilestones = Array.prototype.map.call(document.querySelectorAll("#milestones option"),
                                                 function (o) { return o.value; });

  function showProperties(element) {
    selected = element && element.type !== "label" ? element : null;
    document.getElementById("prop-none").hidden = !!selected;
    document.getElementById("prop-fields").hidden = !selected;
    if (!selected) { return; }
    var bo = selected.businessObject;
    document.getElementById("prop-id").value = bo.id;
    document.getElementById("prop-name").value = bo.name || "";
    document.getElementById("prop-milestone").textContent = milestoneHint(bo.id);
    var isTask = bo.$type === "bpmn:UserTask";
    document.getElementById("prop-task").hidden = !isTask;
    if (isTask) {
      var formSelect = document.getElementById("prop-form");
      formSelect.textContent = "";
      formSelect.appendChild(el("option", "(geen)")).value = "";
      Object.keys(data.files).filter(function (n) { return n.startsWith("forms/") && !n.endsWith(".uischema.json"); })
        .sort().forEach(function (n) { formSelect.appendChild(el("option", n.slice(6))).value = n.slice(6); });
      formSelect.value = property(bo, "formJsonSchemaFilename");
      var instructions = extension(bo, "spiffworkflow:InstructionsForEndUser");
      document.getElementById("prop-instructions").value = instructions ? instructions.value || "" : "";
      document.getElementById("prop-due").value = property(bo, "dueDateExpression");
    }
  }

  function applyProperties() {
    if (!selected) { return; }
    var modeling = modeler.get("modeling");
    var moddle = modeler.get("moddle");
    var element = selected;
    var bo = element.businessObject;
    var id = document.getElementById("prop-id").value.trim();
    var changes = { name: document.getElementById("prop-name").value };
    if (id && id !== bo.id) { changes.id = id; }
    modeling.updateProperties(element, changes);
    if (bo.$type !== "bpmn:UserTask") { showProperties(element); return; }
    var extensionElements = bo.extensionElements;
    if (!extensionElements) {
      extensionElements = moddle.create("bpmn:ExtensionElements", { values: [] });
      modeling.updateProperties(element, { extensionElements: extensionElements });
    }
    var props = extension(bo, "spiffworkflow:Properties");
    if (!props) {
      props = moddle.create("spiffworkflow:Properties", { properties: [] });
      modeling.updateModdleProperties(element, extensionElements, { values: extensionElements.values.concat([props]) });
    }
    var wanted = { formJsonSchemaFilename: document.getElementById("prop-form").value,
                   dueDateExpression: document.getElementById("prop-due").value.trim() };
    var kept = (props.properties || []).filter(function (p) { return !(p.name in wanted); });
    Object.keys(wanted).forEach(function (name) {
      if (wanted[name]) { kept.push(moddle.create("spiffworkflow:Property", { name: name, value: wanted[name] })); }
    });
    modeling.updateModdleProperties(element, props, { properties: kept });
    var text = document.getElementById("prop-instructions").value;
    var instructions = extension(bo, "spiffworkflow:InstructionsForEndUser");
    if (instructions) {
      modeling.updateModdleProperties(element, instructions, { value: text });
    } else if (text) {
      instructions = moddle.create("spiffworkflow:InstructionsForEndUser", { value: text });
      modeling.updateModdleProperties(element, extensionElements,
                                      { values: extensionElements.values.concat([instructions]) });
    }
    showProperties(element);
    say("Eigenschappen toegepast op " + bo.id + " (nog niet opgeslagen)");
  }

  modeler.on("selection.changed", function (event) {
    showProperties(event.newSelection.length === 1 ? event.newSelection[0] : null);
  });
  document.getElementById("prop-apply").addEventListener("click", applyProperties);

  Object.keys(data.files).sort().forEach(function (name) {
    var option = el("option", name);
    option.value = name;
    select.appendChild(option);
  });
  var first = data.files[data.open] !== undefined ? data.open :
    Object.keys(data.files).sort().filter(function (n) { return n.endsWith(".bpmn"); })[0];
  select.value = first;
  open(first);
  renderScenarios();

  select.addEventListener("change", function () {
    var next = select.value;
    select.value = current;
    save().then(function (ok) { if (ok) { select.value = next; open(next); } });
  });
  textArea.addEventListener("input", function () { clearTimeout(previewTimer); previewTimer = setTimeout(preview, 400); });
  document.getElementById("save").addEventListener("click", save);
  document.getElementById("undo").addEventListener("click", function () { modeler.get("commandStack").undo(); });
  document.getElementById("redo").addEventListener("click", function () { modeler.get("commandStack").redo(); });
  document.getElementById("find-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var wanted = document.getElementById("find-element").value.trim().toLowerCase();
    if (!wanted || !current.endsWith(".bpmn")) { return; }
    var registry = modeler.get("elementRegistry");
    var found = registry.filter(function (e) { return e.type !== "label" && e.id.toLowerCase() === wanted; })[0] ||
      registry.filter(function (e) {
        var name = (e.businessObject && e.businessObject.name || "").toLowerCase();
        return e.type !== "label" && name && name.indexOf(wanted) >= 0;
      })[0];
    if (!found) { say("Geen element gevonden voor ‘" + wanted + "’"); return; }
    focus(found.id);
    say("Gevonden: " + found.id);
  });
  document.getElementById("check").addEventListener("click", function () {
    say("Controleren…");
    save().then(function () { return post("/studio/concept/controleren", { id: data.id }); })
      .then(function (r) { showProblems(r.problems || []); say("Gecontroleerd: " + (r.problems || []).length + " bevinding(en)"); });
  });
  document.getElementById("run").addEventListener("click", function () {
    say("Scenario's worden uitgevoerd…");
    save().then(function () { return post("/studio/concept/scenarios", { id: data.id }); }).then(function (r) {
      if (r.error) { say("Scenario's konden niet draaien: " + r.error.message); return; }
      renderScenarios(r.results);
      var failed = r.results.filter(function (x) { return !x.passed; }).length;
      say(r.results.length + " scenario's uitgevoerd, " + failed + " mislukt");
    });
  });
  document.getElementById("compare").addEventListener("click", function () {
    var choice = document.getElementById("compare-version").value.split(":");
    save().then(function () {
      return post("/studio/concept/vergelijken", { id: data.id, process_id: choice[0] || null, version: choice[1] || null });
    }).then(function (r) {
      if (r.error) { say("Vergelijken mislukt: " + r.error.message); return; }
      showChanges(r.files); say("Vergeleken");
    });
  });
  document.getElementById("scenario-save").addEventListener("click", function () {
    var name = document.getElementById("scenario-name").value.trim();
    var out = document.getElementById("scenario-status");
    var scenario;
    try { scenario = JSON.parse(document.getElementById("scenario-json").value); } catch (e) {
      out.textContent = "Geen geldige JSON: " + e.message; return;
    }
    post("/studio/concept/scenario", { id: data.id, name: name, scenario: scenario }).then(function (r) {
      if (!r.ok) { out.textContent = "Niet opgeslagen: " + (r.error ? r.error.message : "fout " + r._status); return; }
      data.scenarios = r.scenarios; renderScenarios(); out.textContent = "Scenario opgeslagen: " + name;
    });
  });
  document.getElementById("scenario-delete").addEventListener("click", function () {
    var name = document.getElementById("scenario-name").value.trim();
    var out = document.getElementById("scenario-status");
    post("/studio/concept/scenario", { id: data.id, name: name, scenario: null }).then(function (r) {
      if (!r.ok) { out.textContent = "Niet verwijderd: " + (r.error ? r.error.message : "fout " + r._status); return; }
      data.scenarios = r.scenarios; renderScenarios(); out.textContent = "Scenario verwijderd: " + name;
    });
  });
  document.getElementById("deploy-form").addEventListener("submit", function (event) {
    // Save the open file first, so what is deployed is what is on the screen; stay in the editor on a refusal.
    event.preventDefault();
    var form = this;
    var out = document.getElementById("deploy-result");
    out.textContent = "";
    say("Opslaan en deployen (scenario's draaien)…");
    save().then(function (ok) {
      if (!ok) { return null; }
      return fetch(form.action, { method: "POST", credentials: "same-origin", body: new FormData(form),
                                  headers: { "Accept": "application/json", "X-CSRFToken": csrf } })
        .then(function (response) { return response.json(); });
    }).then(function (r) {
      if (!r) { return; }
      if (r.ok) { window.location.assign(r.next); return; }
      say("Niet gedeployed");
      out.appendChild(el("p", r.message, "error-text"));
      var list = el("ul");
      (r.failed_scenarios || []).forEach(function (f) {
        var item = el("li");
        item.appendChild(el("strong", f.name));
        item.appendChild(document.createTextNode(": " + f.error));
        list.appendChild(item);
      });
      out.appendChild(list);
    }).catch(function (err) { say("Deployen mislukt: " + err.message); });
  });
}());
