// examples/fastify as an adopter runs it: its own process, driven over HTTP on SQLite, PostgreSQL
// and MariaDB.
import { describeExample } from '../../test/helpers/example-apps.js';

describeExample('fastify');
