/* The newer version's diagram, read-only, with what was added (green) and changed (orange) since the older one. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("compare-data").textContent);
  var viewer = new BpmnJS({ container: "#compare-canvas" });
  viewer.importXML(data.xml).then(function () {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport");
    data.marks.forEach(function (mark) {
      if (registry.get(mark[0])) { canvas.addMarker(mark[0], mark[1]); }
    });
    document.getElementById("compare-canvas").setAttribute("data-marked", String(data.marks.length));
  }).catch(function (err) {
    document.getElementById("compare-canvas").textContent = "Het diagram kan niet worden getoond: " + err.message;
  });
})();
