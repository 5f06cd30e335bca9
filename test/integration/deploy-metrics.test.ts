/**
 * The alert rules (deploy/prometheus/alerts.yml) and the Grafana dashboard
 * (deploy/grafana/invoice-worker.json) name only metrics a running system serves: a system is
 * started (in durability mode, so the durability counter is registered too, with process metrics
 * on), its /metrics read, and every metric name in a rule or a panel looked up there. A renamed
 * metric, or a typo in a query, fails here instead of leaving an alert that never fires.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { startTestSystem, type TestSystem } from '../helpers/system.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** Metric names in a PromQL expression: every identifier of a family this service or its process serves. */
export function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:invoice_worker|process|nodejs)_[A-Za-z0-9_]*[A-Za-z0-9]\b/g)].map((m) => m[0]);
}

function ruleExpressions(): Map<string, string> {
  const doc = parse(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  return new Map(doc.groups.flatMap((g) => g.rules.map((r) => [r.alert, r.expr] as const)));
}

function dashboardExpressions(): Map<string, string> {
  const doc = JSON.parse(read('deploy/grafana/invoice-worker.json')) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ name: string; definition?: string }> };
  };
  const out = new Map<string, string>();
  for (const p of doc.panels) (p.targets ?? []).forEach((t, i) => out.set(`panel "${p.title}" #${i}`, t.expr));
  for (const v of doc.templating.list) if (v.definition) out.set(`variable ${v.name}`, v.definition);
  return out;
}

/** Every sample name /metrics can carry, from its TYPE lines (a histogram serves _bucket, _sum and _count). */
function servedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  return names;
}

describe('deploy: rules and dashboard name served metrics', () => {
  let t: TestSystem;
  let served: Set<string>;
  let text: string;
  before(async () => {
    t = await startTestSystem({ defaultMetrics: true, env: { DURABILITY: 'replica', DURABILITY_TIMEOUT_MS: '50' } });
    const res = await fetch(`${t.api}/metrics`);
    assert.equal(res.status, 200);
    text = await res.text();
    served = servedNames(text);
  });
  after(async () => {
    await t?.close();
  });

  it('the name extraction finds names, and only metric names', () => {
    assert.deepEqual(metricNames('sum by (le) (rate(invoice_worker_accept_to_created_seconds_bucket{queue=~"invoice-create.*"}[5m])) > 60'), [
      'invoice_worker_accept_to_created_seconds_bucket',
    ]);
    assert.deepEqual(metricNames('max(a_b) / (invoice_worker_x_bytes > 0) and on (lane) process_resident_memory_bytes'), [
      'invoice_worker_x_bytes',
      'process_resident_memory_bytes',
    ]);
    assert.ok(served.has('invoice_worker_queue_jobs') && served.has('invoice_worker_provider_http_request_duration_seconds_bucket'));
    assert.ok(!served.has('invoice_worker_queue_jobs_bucket'));
  });

  it("the Redis memory the headroom alert divides is Redis' own: used_memory and maxmemory", async () => {
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const [, max] = (await t.system.redis.config('GET', 'maxmemory')) as [string, string];
    assert.equal(value('invoice_worker_redis_memory_max_bytes'), Number(max));
    const used = Number(/^used_memory:(\d+)/m.exec(await t.system.redis.info('memory'))?.[1]);
    // Both read a moment apart: the same order of magnitude, not the same byte.
    assert.ok(value('invoice_worker_redis_memory_used_bytes') > used / 2 && value('invoice_worker_redis_memory_used_bytes') < used * 2, 'used_memory');
  });

  for (const [what, exprs] of [
    ['alert rule', ruleExpressions()],
    ['dashboard', dashboardExpressions()],
  ] as const) {
    it(`every metric a ${what} names is served by /metrics`, () => {
      assert.ok(exprs.size > 10, `${what}: expressions found`);
      const missing: string[] = [];
      let names = 0;
      for (const [where, expr] of exprs) {
        for (const name of metricNames(expr)) {
          names++;
          if (!served.has(name)) missing.push(`${where}: ${name}`);
        }
      }
      assert.ok(names >= exprs.size, `${what}: every expression names a metric`);
      assert.deepEqual(missing, [], `${what} names metrics /metrics does not serve`);
    });
  }
});
