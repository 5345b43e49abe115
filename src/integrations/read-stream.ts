import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body from the socket as UTF-8 text: `undefined` when it is empty, `null` when
 * it is larger than `limit` bytes (the rest is drained, not kept).
 */
export function readStream(req: IncomingMessage, limit: number): Promise<string | undefined | null> {
  if (req.readableEnded) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? null : size === 0 ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
