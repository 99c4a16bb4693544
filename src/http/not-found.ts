import type { Plugin } from 'graphql-yoga';

// Any path the server does not serve gets a coded GraphQL-over-HTTP error that
// names the routes it does serve, instead of Yoga's empty 404.

export interface Route {
  path: string;
  /** What it is, for the error message. */
  description: string;
}

/**
 * Answers every request whose path is none of `routes` with 404 NOT_FOUND.
 * Goes after the plugins that serve their own routes (health, consent
 * center), which answer before it is reached; the GraphQL endpoint, which is
 * answered later by Yoga itself, must be in `routes`.
 */
export function useNotFound(routes: readonly Route[]): Plugin {
  const known = new Set(routes.flatMap((r) => [r.path, `${r.path}/`]));
  const listed = routes.map((r) => `${r.path} (${r.description})`).join(', ');
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (known.has(url.pathname)) return;
      const message = `No route ${JSON.stringify(url.pathname.slice(0, 200))} here. This server answers ${listed}.`;
      endResponse(
        new fetchAPI.Response(
          request.method === 'HEAD' ? null : JSON.stringify({ errors: [{ message, extensions: { code: 'NOT_FOUND' } }] }),
          {
            status: 404,
            headers: { 'content-type': 'application/json; charset=utf-8' },
          },
        ),
      );
    },
  };
}
