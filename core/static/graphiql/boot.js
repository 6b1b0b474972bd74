// Renders GraphiQL on the /graphql/ page. Requests are sent with the session cookie and the page's
// CSRF token, which Django requires of session-authenticated POSTs.
//
// A link opens on its query: `?query=` (and `variables`), as graphene's own page does, and the
// address follows the editors so that it can be shared. Without one, the page
// opens on this browser's last query, or the first time on the starter query of the user's role.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var csrfToken = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var starter = JSON.parse(document.getElementById("graphiql-starter").textContent);
  var address = new URL(window.location.href);
  var link = address.searchParams;

  function follow(name) {
    return function (value) {
      if (value) {
        link.set(name, value);
      } else {
        link.delete(name);
      }
      window.history.replaceState(null, "", address);
    };
  }

  var fetcher = window.GraphiQL.createFetcher({
    url: root.dataset.endpoint,
    headers: { "X-CSRFToken": csrfToken },
  });
  window.ReactDOM.render(
    window.React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      defaultQuery: starter,
      query: link.get("query") || undefined,
      variables: link.get("variables") || undefined,
      onEditQuery: follow("query"),
      onEditVariables: follow("variables"),
    }),
    root
  );
})();
