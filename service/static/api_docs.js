// Starts Swagger UI on /api/v1/docs (service/api_docs.py). A file, not an inline script: the
// page's Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    validatorUrl: null  // the default sends the spec to validator.swagger.io
  });
})();
