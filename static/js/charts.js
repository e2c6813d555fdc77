/* Renders every Plotly figure on the page. A figure is a JSON data block
   (<script type="application/json" id="...">) named by a [data-plotly] element,
   so no inline script is needed and the Content-Security-Policy stays strict. */
(function () {
  "use strict";
  function render() {
    if (!window.Plotly) { return; }
    document.querySelectorAll("[data-plotly]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-plotly"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      var layout = Object.assign({ autosize: true, margin: { t: 36, r: 16, b: 48, l: 56 } },
                                 figure.layout || {});
      window.Plotly.newPlot(el, figure.data || [], layout,
                            { responsive: true, displaylogo: false }).then(function () {
        el.setAttribute("data-rendered", "true");
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", render);
  } else {
    render();
  }
})();
