/** A `Host` header value: a name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * `scheme://host[:port]` of a request, lower-cased, or `undefined` without a well-formed `Host`
 * header. The web pages' same-origin check and the API's cookie mode compare `Origin` with it.
 */
export function hostOrigin(host: string | undefined, scheme: 'http' | 'https'): string | undefined {
  if (host === undefined || !HOST.test(host)) return undefined;
  return `${scheme}://${host.toLowerCase()}`;
}
