import type { Plugin } from 'graphql-yoga';

// Cross-origin calls from browsers, for the origins listed in
// CONSENTQL_CORS_ORIGINS and no other. Clients authenticate with an
// Authorization header, never cookies, so credentials are not allowed: a page
// elsewhere cannot borrow a visitor's session. With no origin listed, the
// plugin is not installed and no response carries a CORS header.

const ALLOWED_METHODS = 'GET, POST';
const ALLOWED_HEADERS = 'Authorization, Content-Type, Accept, X-Purpose, X-Consent-Explain';
const EXPOSED_HEADERS = 'Retry-After';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

/** CORS for exactly these origins (scheme, host and port, as browsers send them in `Origin`). */
export function useCorsAllowList(origins: readonly string[]): Plugin {
  const allowed = new Set(origins);
  const allows = (request: Request): string | null => {
    const origin = request.headers.get('origin');
    return origin !== null && allowed.has(origin) ? origin : null;
  };
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'OPTIONS' || !request.headers.has('access-control-request-method')) return;
      const origin = allows(request);
      endResponse(
        new fetchAPI.Response(null, {
          status: 204,
          headers: {
            // Safari waits for a body on a 204 without it.
            'content-length': '0',
            ...(origin
              ? {
                  'access-control-allow-origin': origin,
                  'access-control-allow-methods': ALLOWED_METHODS,
                  'access-control-allow-headers': ALLOWED_HEADERS,
                  'access-control-max-age': PREFLIGHT_MAX_AGE_SECONDS,
                }
              : {}),
          },
        }),
      );
    },
    onResponse({ request, response }) {
      // Caches must not hand one origin's answer to another.
      response.headers.append('vary', 'Origin');
      const origin = allows(request);
      if (!origin) return;
      response.headers.set('access-control-allow-origin', origin);
      response.headers.set('access-control-expose-headers', EXPOSED_HEADERS);
    },
  };
}
