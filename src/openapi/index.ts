/**
 * `nilva-session/openapi`: the OpenAPI 3.1 document of the HTTP contract, built for an app's
 * `SessionApi` (its mount path, schemes, JWT routes, cookie mode and limits), to serve beside
 * the routes or to generate clients from.
 *
 * @module
 */

export type { JsonObject, JsonValue, OpenApiDocument, OpenApiOptions, OpenApiServer } from './document.js';
export { openApiDocument } from './document.js';
