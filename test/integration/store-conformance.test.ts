// The SessionStore conformance suite on the three real databases, with string and integer
// user ids: every test gets a fresh, uniquely named table.
import { describe, test } from 'vitest';
import { defineSessionStoreConformance } from '../../src/testing/store-conformance.js';
import { DIALECTS, openTestDatabase } from '../helpers/databases.js';

for (const dialect of DIALECTS) {
  for (const userIdType of ['string', 'integer'] as const) {
    defineSessionStoreConformance(
      `KyselySessionStore on ${dialect} (${userIdType} user ids)`,
      async () => {
        const database = await openTestDatabase(dialect, { userIdType });
        return { store: database.store, userIdType, cleanup: () => database.close() };
      },
      { describe, test },
    );
  }
}
