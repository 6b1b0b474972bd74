// Renders GraphiQL on the /graphql/ page. Requests are sent with the session cookie and the page's
// CSRF token, which Django requires of session-authenticated POSTs.
//
// A link opens on its query: `?query=` (and `variables`), as graphene's own page does, and the
// address follows the editors so that it can be shared, while it is short enough to be a link: the
// servers refuse a request line past 4 KB (gunicorn's limit), so a reload of a longer address would
// fail. Without a link, the page opens on this browser's last query (GraphiQL keeps it), or the
// first time on the starter query of the user's role.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var csrfToken = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var starter = JSON.parse(document.getElementById("graphiql-starter").textContent);
  var LONGEST_LINK = 2000;
  var link = new URL(window.location.href).searchParams;
  var editors = { query: link.get("query"), variables: link.get("variables") };

  function follow(name) {
    return function (value) {
      editors[name] = value;
      var address = new URL(window.location.pathname, window.location.origin);
      Object.keys(editors).forEach(function (key) {
        if (editors[key]) {
          address.searchParams.set(key, editors[key]);
        }
      });
      window.history.replaceState(null, "", address.href.length > LONGEST_LINK ? address.pathname : address);
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
