// The OpenAPI drift check: every response a test observed must be one the document describes
// (its route, method and status), with a body that validates against the documented schema
// (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it) and the documented headers.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from 'nilva-session/openapi';
import { observeResponses, type TestResponse } from './http-client.js';

/** The routes test/helpers/http-apps.ts serves beside the contract: application routes, not documented by it. */
export const TEST_APP_ROUTES: readonly string[] = ['/api/me', '/open', '/api/sensitive'];

/** One request a test sent and what it got. */
export interface Exchange {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly response: TestResponse;
}

type Node = { readonly [key: string]: unknown };

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Validates exchanges against one document; schemas are compiled once. */
export class ContractChecker {
  readonly #document: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();
  /** The `components.schemas`, reachable from any compiled schema as `#/$defs/…`. */
  readonly #defs: unknown;

  constructor(document: OpenApiDocument) {
    this.#document = document;
    // strict: a keyword JSON Schema does not know, or a mistyped one, is an error of the document.
    this.#ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    addFormats.default(this.#ajv);
    this.#defs = rewriteRefs((document.components as Node).schemas);
  }

  /**
   * What is wrong with each exchange (empty when every one matches the document). Paths in
   * `skip` (application routes outside the contract) are left out.
   */
  problems(exchanges: readonly Exchange[], skip: readonly string[]): string[] {
    const problems: string[] = [];
    for (const exchange of exchanges) {
      const pathname = new URL(exchange.path, 'http://localhost').pathname;
      if (skip.includes(pathname)) continue;
      const label = `${exchange.method} ${shorten(exchange.path)} → ${exchange.response.status}`;
      for (const problem of this.check(exchange, pathname)) problems.push(`${label}: ${problem}`);
    }
    return problems;
  }

  /** The problems of one exchange. */
  check(exchange: Exchange, pathname: string): string[] {
    const paths = this.#document.paths as Node;
    // The API takes a trailing slash (`login/` is `login`).
    const key = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
    const item = paths[key] as Node | undefined;
    if (item === undefined) return ['no such route in the document'];
    const operation = item[exchange.method.toLowerCase()] as Node | undefined;
    if (operation === undefined) {
      // OpenAPI cannot list "every other method": the document states the 405 as a component.
      // A protected path checks the credentials first, so a failed authentication (a status
      // every operation of the path documents) comes before the 405.
      const operations = METHODS.filter((m) => m in item).map((m) => item[m] as Node);
      const status = String(exchange.response.status);
      const guarded = operations.every((op) => (op.security as unknown[]).length > 0);
      if (status !== '405' && guarded && operations.every((op) => status in (op.responses as Node))) {
        const first = (operations[0] as Node).responses as Node;
        return this.#checkResponse(this.#resolve(first[status]), exchange.response, `${exchange.method} ${key} ${status}`, exchange.method);
      }
      if (exchange.response.status !== 405) return [`the document has no ${exchange.method} here, and the answer is not a 405`];
      const problems = this.#checkResponse(
        this.#component('responses', 'MethodNotAllowed'),
        exchange.response,
        `405 ${key}`,
        exchange.method,
      );
      const documented = METHODS.filter((m) => m in item).map((m) => m.toUpperCase());
      const allow = String(exchange.response.headers.allow ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== '');
      if ([...allow].sort().join() !== [...documented].sort().join()) {
        problems.push(`Allow ${JSON.stringify(allow.join(', '))} is not the documented methods ${JSON.stringify(documented.join(', '))}`);
      }
      return problems;
    }
    const responses = operation.responses as Node;
    const status = String(exchange.response.status);
    const documented = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
    if (documented === undefined) return [`status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`];
    return this.#checkResponse(this.#resolve(documented), exchange.response, `${exchange.method} ${key} ${status}`, exchange.method);
  }

  #checkResponse(documented: Node, response: TestResponse, where: string, method: string): string[] {
    const problems: string[] = [];
    const headers = (documented.headers ?? {}) as Node;
    for (const [name, header] of Object.entries(headers)) {
      const spec = this.#resolve(header);
      const value = response.headers[name.toLowerCase()];
      if (value === undefined) {
        if (spec.required === true) problems.push(`header ${name} is missing`);
        continue;
      }
      const schema = spec.schema as Node | undefined;
      if (schema === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) {
        const parsed = schema.type === 'integer' && /^-?[0-9]+$/.test(one) ? Number(one) : one;
        const validate = this.#validator(`${where} header ${name}`, schema);
        if (!validate(parsed)) problems.push(`header ${name}: ${JSON.stringify(one)} ${this.#ajv.errorsText(validate.errors)}`);
      }
    }
    const content = documented.content as Node | undefined;
    if (content === undefined) {
      if (response.text !== '') problems.push(`the document says no body, got ${JSON.stringify(shorten(response.text))}`);
      return problems;
    }
    const type = String(response.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase();
    const media = content[type ?? ''] as Node | undefined;
    if (media === undefined) {
      problems.push(`Content-Type ${JSON.stringify(type)} is not documented (documented: ${Object.keys(content).join(', ')})`);
      return problems;
    }
    // A HEAD answer has the headers of the body it leaves out.
    if (method === 'HEAD') return problems;
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      problems.push(`the body is not JSON: ${JSON.stringify(shorten(response.text))}`);
      return problems;
    }
    const validate = this.#validator(`${where} ${type}`, media.schema as Node);
    if (!validate(body)) {
      problems.push(`the body ${shorten(response.text)} does not match the document: ${this.#ajv.errorsText(validate.errors)}`);
    }
    return problems;
  }

  #validator(key: string, schema: Node): ValidateFunction {
    let validate = this.#validators.get(key);
    if (validate === undefined) {
      validate = this.#ajv.compile({ ...(rewriteRefs(schema) as Node), $defs: this.#defs });
      this.#validators.set(key, validate);
    }
    return validate;
  }

  #component(kind: string, name: string): Node {
    const found = ((this.#document.components as Node)[kind] as Node | undefined)?.[name] as Node | undefined;
    if (found === undefined) throw new Error(`the document has no components.${kind}.${name}`);
    return found;
  }

  /** A `$ref` to a component, followed (once: the document's components never chain). */
  #resolve(value: unknown): Node {
    const node = value as Node;
    const target = typeof node.$ref === 'string' ? /^#\/components\/(\w+)\/([\w-]+)$/.exec(node.$ref) : null;
    if (target === null) return node;
    return this.#component(target[1] as string, target[2] as string);
  }

  /**
   * Every schema the document holds compiles under Ajv's strict 2020-12 mode and accepts its
   * own `examples`: the problems, empty when there are none. (The OpenAPI validator checks the
   * document's structure, not the JSON Schemas in it.)
   */
  schemaProblems(): string[] {
    const problems: string[] = [];
    const visit = (value: unknown, at: string): void => {
      if (typeof value !== 'object' || value === null) return;
      if (Array.isArray(value)) {
        for (const [i, v] of value.entries()) visit(v, `${at}/${i}`);
        return;
      }
      for (const [key, child] of Object.entries(value)) {
        if (key === 'schema' && typeof child === 'object' && child !== null)
          problems.push(...this.#schemaProblems(`${at}/schema`, child as Node));
        else visit(child, `${at}/${key}`);
      }
    };
    visit(this.#document.paths, '#/paths');
    visit((this.#document.components as Node).responses, '#/components/responses');
    visit((this.#document.components as Node).headers, '#/components/headers');
    visit((this.#document.components as Node).parameters, '#/components/parameters');
    for (const [name, schema] of Object.entries((this.#document.components as Node).schemas as Node)) {
      problems.push(...this.#schemaProblems(`#/components/schemas/${name}`, schema as Node));
    }
    return problems;
  }

  #schemaProblems(at: string, schema: Node): string[] {
    let validate: ValidateFunction;
    try {
      validate = this.#validator(`schema ${at}`, schema);
    } catch (error) {
      return [`${at}: ${error instanceof Error ? error.message : String(error)}`];
    }
    const problems: string[] = [];
    for (const example of (schema.examples as unknown[] | undefined) ?? []) {
      if (!validate(example))
        problems.push(`${at}: its example ${JSON.stringify(example)} fails: ${this.#ajv.errorsText(validate.errors)}`);
    }
    return problems;
  }
}

/**
 * Records every exchange with the app at `baseUrl` from now on, for `problems()` to check
 * against `document` (skipping `skip`, by default the test apps' own routes).
 */
export function recordContract(
  baseUrl: string,
  document: OpenApiDocument,
  skip: readonly string[] = TEST_APP_ROUTES,
): { readonly exchanges: readonly Exchange[]; problems(): string[]; stop(): void } {
  const exchanges: Exchange[] = [];
  const stop = observeResponses(baseUrl, (request, response) => exchanges.push({ ...request, response }));
  const checker = new ContractChecker(document);
  return { exchanges, problems: () => checker.problems(exchanges, skip), stop };
}

/** `#/components/schemas/X` → `#/$defs/X`, so a schema compiles on its own with the components beside it. */
function rewriteRefs(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"#/$defs/'));
}

function shorten(text: string): string {
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}
