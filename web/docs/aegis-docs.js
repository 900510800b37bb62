// Starts Swagger UI on the server's own OpenAPI document.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#aegis-api-reference",
    deepLinking: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});
