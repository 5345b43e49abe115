// The part of autocannon 9 the load driver uses (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
  }

  interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    /** Requests to send instead of a duration. */
    amount?: number;
    pipelining?: number;
    requests?: AutocannonRequest[];
    headers?: Record<string, string>;
  }

  interface AutocannonHistogram {
    average: number;
    mean: number;
    p50: number;
    p99: number;
    max: number;
    total?: number;
  }

  interface AutocannonResult {
    requests: AutocannonHistogram;
    latency: AutocannonHistogram;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    totalCompletedRequests: number;
    statusCodeStats: Record<string, { count: number }>;
  }

  /** Emits `response(client, statusCode, bytes, responseTimeMs)` per response. */
  type AutocannonInstance = EventEmitter;

  function autocannon(options: AutocannonOptions, callback: (error: Error | null, result: AutocannonResult) => void): AutocannonInstance;

  export default autocannon;
  export type { AutocannonInstance, AutocannonOptions, AutocannonResult };
}
