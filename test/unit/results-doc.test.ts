/**
 * docs/results.md's event catalogue: what docs/examples/results-catalogue.ts writes, every
 * example a valid v1 result, and one for every status and every event kind.
 */
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { END, EVENTS, RESULTS_DOC, START, withCatalogue } from '../../docs/examples/results-catalogue.ts';
import { ResultSchema } from '../../src/invoice/result.ts';
import { STATUSES } from '../../src/invoice/state.ts';

const doc = readFileSync(RESULTS_DOC, 'utf8');

describe('docs/results.md', () => {
  it('holds the catalogue as the script writes it (run docs/examples/results-catalogue.ts)', () => {
    assert.equal(doc, withCatalogue(doc), 'the catalogue is stale: run `node --import tsx docs/examples/results-catalogue.ts`');
  });

  it('every example parses with ResultSchema, and every status and every event kind has one', () => {
    const catalogue = doc.slice(doc.indexOf(START), doc.indexOf(END));
    const blocks = [...catalogue.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => JSON.parse(m[1] as string) as unknown);
    assert.ok(blocks.length >= STATUSES.length + EVENTS.length - 1);
    const results = blocks.map((b, i) => {
      const parsed = ResultSchema.safeParse(b);
      assert.ok(parsed.success, `example ${i}: ${JSON.stringify(parsed.error?.issues)}`);
      return parsed.data;
    });
    const transitions = results.filter((r) => r.event === 'transition');
    for (const status of STATUSES)
      assert.ok(
        transitions.some((r) => r.status === status && r.previous_status !== status),
        `a transition to ${status}`,
      );
    for (const event of EVENTS)
      assert.ok(
        results.some((r) => r.event === event),
        `an ${event} event`,
      );
    for (const r of results) if (r.event === 'exception' || r.event === 'parked' || r.event === 'payment') assert.ok(r[r.event], `${r.event} carries its field`);
    assert.equal(new Set(results.map((r) => r.event_id)).size, results.length, 'event ids differ');
  });

  it('links the money and webhook docs and shows the Python receiver that the tests run', () => {
    for (const link of ['(money.md)', '(webhooks.md)', '(examples/receiver.py)']) assert.ok(doc.includes(link), link);
    const python = readFileSync(new URL('../../docs/examples/receiver.py', import.meta.url), 'utf8');
    // The doc's excerpt is the receiver's code, line for line (indentation aside).
    const excerpt = /```python\n([\s\S]*?)\n```/.exec(doc)?.[1] ?? '';
    const code = python.split('\n').map((l) => l.trim());
    for (const line of excerpt
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean))
      assert.ok(code.includes(line), `receiver.py has: ${line}`);
  });
});
