// Renders GraphiQL on the /graphql/ page. Requests are sent with the session cookie and the page's
// CSRF token, which Django requires of session-authenticated POSTs.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var csrfToken = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var fetcher = window.GraphiQL.createFetcher({
    url: root.dataset.endpoint,
    headers: { "X-CSRFToken": csrfToken },
  });
  window.ReactDOM.render(
    window.React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
    }),
    root
  );
})();
