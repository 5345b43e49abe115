// The SessionAdminStore conformance suite on the three real databases, with string and integer
// user ids: every test gets a fresh, uniquely named table.
import { describe, test } from 'vitest';
import { KyselySessionAdminStore } from '../../src/store/kysely-session-admin-store.js';
import { defineSessionAdminStoreConformance } from '../../src/testing/admin-store-conformance.js';
import { DIALECTS, openTestDatabase } from '../helpers/databases.js';

for (const dialect of DIALECTS) {
  for (const userIdType of ['string', 'integer'] as const) {
    defineSessionAdminStoreConformance(
      `KyselySessionAdminStore on ${dialect} (${userIdType} user ids)`,
      async () => {
        const database = await openTestDatabase(dialect, { userIdType });
        const adminStore = new KyselySessionAdminStore({ db: database.db, dialect, tableName: database.tableName, userIdType });
        return { store: database.store, adminStore, userIdType, cleanup: () => database.close() };
      },
      { describe, test },
    );
  }
}
