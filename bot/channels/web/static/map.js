/* The map of open reports: draws /map/reports.geojson with Leaflet on MAP_TILE_URL's tiles.
   Without JavaScript, Leaflet or tiles the page's list is all there is, and it is complete. */
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || typeof L === "undefined" || !element.dataset.tiles) {
    return;
  }
  element.hidden = false;
  var map = L.map(element, { scrollWheelZoom: false });
  L.tileLayer(element.dataset.tiles, {
    maxZoom: 19,
    attribution: element.dataset.attribution || ""
  }).addTo(map);
  var reportPath = element.dataset.reportPath || "/reports/";
  var query = reportPath.indexOf("?") >= 0 ? reportPath.slice(reportPath.indexOf("?")) : "";
  var base = query ? reportPath.slice(0, reportPath.indexOf("?")) : reportPath;

  function popup(feature) {
    // Built from text nodes: a report's words are never read as HTML.
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = base + encodeURIComponent(feature.properties.reference) + query;
    link.textContent = feature.properties.reference;
    box.appendChild(link);
    if (feature.properties.public_text) {
      var text = document.createElement("p");
      text.dir = "auto"; // laid out in its own direction, whatever the page's language
      text.textContent = feature.properties.public_text;
      box.appendChild(text);
    }
    return box;
  }

  fetch(element.dataset.source, { credentials: "omit" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("map data: " + response.status);
      }
      return response.json();
    })
    .then(function (collection) {
      var layer = L.geoJSON(collection, {
        onEachFeature: function (feature, marker) {
          marker.bindPopup(popup(feature));
        }
      }).addTo(map);
      var bounds = layer.getBounds();
      if (bounds.isValid()) {
        map.fitBounds(bounds, { maxZoom: 16, padding: [24, 24] });
      } else {
        map.setView([0, 0], 2);
      }
    })
    .catch(function () {
      element.hidden = true; // the list below still holds every report
    });
})();
