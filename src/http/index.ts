export type { ApiRequest, ApiResponse } from './api-types.js';
export { badRequest, errorResponse, json } from './error-responses.js';
export type { BodyResult, CharFieldRule } from './request-body.js';
export { charFields, readBody } from './request-body.js';
export type { SessionApiOptions } from './session-api.js';
export { MAX_BODY_BYTES, SessionApi } from './session-api.js';
export type { SessionListItem } from './session-serializer.js';
export { serializeSession } from './session-serializer.js';
export { MAX_USER_AGENT_LENGTH } from './user-agent-header.js';
