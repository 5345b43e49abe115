import type { SessionManager } from 'nilva-session';
import { expectTypeOf, test } from 'vitest';

test('smoke', () => {
  expectTypeOf<SessionManager<{ id: number }>>().not.toBeAny();
});
