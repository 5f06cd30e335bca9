/**
 * The reference pipeline: the least a create worker must do, as a yardstick for ours. A plain
 * BullMQ worker that signs the body (src/signing.ts), sends one POST to the sandbox, writes one
 * HSET and adds one result. No record, no compare-and-set, no history, no outbox, no idempotency:
 * everything our pipeline adds for its guarantees is the difference.
 */
import { Queue, Worker } from 'bullmq';
import { Pool } from 'undici';
import { connect } from '../src/redis/connect.ts';
import { signBody } from '../src/signing.ts';
import { REF_QUEUE, REF_RESULTS, type ProviderRequest, type RefJob } from './orders.ts';

interface SandboxInfo {
  baseUrls: Record<ProviderRequest['provider'], string>;
  credentials: {
    cryptoprocessing: { apiKey: string; apiSecret: string };
    alphapo: { apiKey: string; apiSecret: string };
    cryptosteroid: { apiKey: string };
  };
}

const env = process.env;
const prefix = env.REF_PREFIX ?? 'ref';
const sandbox = JSON.parse(env.REF_SANDBOX ?? '{}') as SandboxInfo;
const redis = connect(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const results = new Queue(REF_RESULTS, { connection: redis, prefix });
const pools = new Map<string, Pool>();
const pool = (origin: string): Pool => {
  let p = pools.get(origin);
  if (!p) {
    // Same pool shape as src/providers/http.ts, so only the pipeline differs.
    p = new Pool(origin, { connections: Number(env.REF_CONNECTIONS ?? 256), pipelining: 1, keepAliveTimeout: 30_000 });
    pools.set(origin, p);
  }
  return p;
};

function headers(job: RefJob, body: string): Record<string, string> {
  if (job.provider === 'cryptosteroid') {
    return { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Api-Key': sandbox.credentials.cryptosteroid.apiKey };
  }
  const c = sandbox.credentials[job.provider];
  return { 'Content-Type': 'application/json', 'X-Processing-Key': c.apiKey, 'X-Processing-Signature': signBody(body, c.apiSecret) };
}

const worker = new Worker<RefJob>(
  REF_QUEUE,
  async (job) => {
    const req = job.data;
    const body = JSON.stringify(req.payload);
    const url = new URL(sandbox.baseUrls[req.provider] + req.path);
    const res = await pool(url.origin).request({ method: 'POST', path: url.pathname, headers: headers(req, body), body });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`HTTP ${res.statusCode}`);
    const json = JSON.parse(text) as { data?: { id: unknown; url?: string; payment_link?: string }; invoiceId?: string; invoiceUrl?: string };
    const providerId = String(json.data?.id ?? json.invoiceId);
    const paymentUrl = json.data?.url ?? json.data?.payment_link ?? json.invoiceUrl ?? '';
    await redis.hset(`${prefix}:ref:inv:${req.id}`, { status: 'created', provider_invoice_id: providerId, payment_url: paymentUrl });
    await results.add('created', { provider: req.provider, id: req.id, provider_invoice_id: providerId, payment_url: paymentUrl }, { jobId: `result.${req.id}` });
  },
  { connection: redis, prefix, concurrency: Number(env.REF_CONCURRENCY ?? 50), autorun: true },
);
worker.on('failed', (job, err) => process.stderr.write(`reference job ${job?.id} failed: ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write('ready\n');

const stop = async (): Promise<void> => {
  await worker.close();
  await results.close();
  await Promise.all([...pools.values()].map((p) => p.close()));
  redis.disconnect();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
