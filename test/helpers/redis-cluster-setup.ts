// Global setup of the integration project: the Redis tests run on a single server and on a
// Redis Cluster, so a fresh clone's `npm test` starts the local cluster (3 masters, 3 replicas,
// ports 7000–7005, scripts/redis-cluster.sh) when it is not up. It is left running for the next
// run, as the other services are; `bash scripts/redis-cluster.sh stop` stops it.
import { ensureRedisCluster } from './redis.js';

export default async function setup(): Promise<void> {
  await ensureRedisCluster();
}
