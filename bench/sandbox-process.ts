/**
 * The sandbox in a process of its own, so its CPU is not the benchmark driver's. Options from the
 * environment; prints one JSON line (URL, base URLs, credentials) once listening.
 */
import { startSandbox } from '../src/sandbox/index.ts';

const sandbox = await startSandbox({
  port: 0,
  latencyMs: Number(process.env.SANDBOX_LATENCY_MS ?? 0),
  // The default cap (50 unpaid NEW invoices) would throttle a benchmark; a real merchant's cap is
  // the provider's business, not our throughput.
  cryptosteroidNewCap: Number(process.env.SANDBOX_CRYPTOSTEROID_NEW_CAP ?? 1_000_000_000),
  strictUrls: true,
});
process.stdout.write(`${JSON.stringify({ url: sandbox.url, baseUrls: sandbox.baseUrls, credentials: sandbox.credentials })}\n`);

const stop = (): void => {
  void sandbox.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
