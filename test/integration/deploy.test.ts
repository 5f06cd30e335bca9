/**
 * Operations as code, checked offline: the Prometheus rules (promtool's own check and unit tests,
 * a runbook for every alert), the Grafana dashboard's import shape, the Kubernetes manifests
 * against the Kubernetes schemas (kubernetes-models) and against the service's own facts (probes,
 * ports, the shutdown budget), docker-compose.yml's fail-safe defaults, the image's production
 * dependencies only, and the Node baseline.
 *
 * promtool comes from Debian's `prometheus` package (.ci/run installs it): without it this test
 * is skipped with a reason, except under CI, where it fails.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { loadConfig } from '../../src/config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const PROMTOOL = process.env.PROMTOOL ?? which('promtool');
const promtoolSkip = !PROMTOOL && !process.env.CI ? 'promtool not found (apt-get install prometheus); required when CI is set' : false;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (): Rule[] => (parse(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    out.add(
      (m[1] ?? '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  }
  return out;
}

describe('Prometheus alert rules', () => {
  it('promtool check rules and promtool test rules pass', { skip: promtoolSkip }, () => {
    const promtool: string | undefined = PROMTOOL;
    assert.ok(promtool, 'promtool is installed (Debian package prometheus)');
    for (const args of [
      ['check', 'rules', 'alerts.yml'],
      ['test', 'rules', 'alerts.test.yml'],
    ]) {
      const run: SpawnSyncReturns<string> = spawnSync(promtool, args, { cwd: join(ROOT, 'deploy/prometheus'), encoding: 'utf8' });
      assert.equal(run.status, 0, `promtool ${args.join(' ')} failed:\n${run.stdout}\n${run.stderr}`);
    }
  });

  it('the rules cover what operators must hear about, each with a severity, a summary, a description and a runbook in docs/operations.md', () => {
    const all = rules();
    const names = all.map((r) => r.alert);
    assert.equal(new Set(names).size, names.length, 'alert names are unique');
    // One alert (at least) per concern the operations issue lists.
    const concerns: Record<string, RegExp> = {
      'outbox lag': /outbox_oldest_seconds/,
      'relay stalled': /deriv\(invoice_worker_outbox_oldest_seconds/,
      'breaker open too long': /lane_breaker_state/,
      'capacity paused': /lane_throttled_total\{cause="capacity"\}/,
      'parked orders growing': /reconciliation_pending/,
      'failed creates': /queue=~"invoice-create\.\*",state="failed"/,
      'webhook deliveries failing': /webhook_deliveries_total/,
      'durability shortfall': /durability_shortfall_total/,
      exceptions: /exceptions_total/,
      'poll backlog': /queue=~"invoice-poll\.\*"/,
      'Redis memory headroom': /redis_memory_used_bytes/,
      'auth failures': /auth_failures_total/,
    };
    for (const [concern, pattern] of Object.entries(concerns))
      assert.ok(
        all.some((r) => pattern.test(r.expr)),
        `an alert for ${concern}`,
      );

    const docs = anchors(read('docs/operations.md'));
    for (const r of all) {
      assert.ok(['critical', 'warning'].includes(r.labels?.severity ?? ''), `${r.alert}: severity critical or warning`);
      assert.ok(r.annotations?.summary, `${r.alert}: summary`);
      assert.ok(r.annotations?.description, `${r.alert}: description`);
      const m = /^docs\/operations\.md#([a-z0-9-]+)$/.exec(r.annotations?.runbook_url ?? '');
      assert.ok(m, `${r.alert}: runbook_url into docs/operations.md`);
      assert.ok(docs.has(m[1] ?? ''), `${r.alert}: docs/operations.md has the runbook #${m[1]}`);
    }
  });

  it('every alert has a unit test where it fires and one where it stays quiet', () => {
    const doc = parse(read('deploy/prometheus/alerts.test.yml')) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
    };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const r of rules()) {
      const mine = cases.filter((c) => c.alertname === r.alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${r.alert} fires in a test`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${r.alert} stays quiet in a test`,
      );
    }
  });
});

describe('Grafana dashboard', () => {
  interface Panel {
    id: number;
    type: string;
    title: string;
    datasource?: { type: string; uid: string };
    gridPos: { x: number; y: number; w: number; h: number };
    targets?: Array<{ expr: string; refId: string; datasource?: { uid: string } }>;
  }
  const dashboard = JSON.parse(read('deploy/grafana/invoice-worker.json')) as {
    __inputs: Array<{ name: string; type: string; pluginId: string }>;
    panels: Panel[];
    uid: string;
    title: string;
    templating: { list: Array<{ name: string; type: string }> };
  };

  it('imports as is: the Prometheus data source is an input, every query uses it, ids are unique', () => {
    assert.deepEqual(
      dashboard.__inputs.map((i) => [i.name, i.type, i.pluginId]),
      [['DS_PROMETHEUS', 'datasource', 'prometheus']],
    );
    assert.ok(dashboard.uid && dashboard.title);
    assert.ok(dashboard.templating.list.some((v) => v.type === 'datasource' && v.name === 'DS_PROMETHEUS'));
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of dashboard.panels) {
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the grid`);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', `${p.title}: data source input`);
      assert.ok(p.targets?.length, `${p.title}: queries`);
      for (const t of p.targets ?? []) assert.ok(t.expr.trim() && t.refId, `${p.title}: query ${t.refId}`);
    }
  });

  it('has the sections an operator looks for', () => {
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    for (const section of [
      /intake/i,
      /creates by lane and outcome/i,
      /breakers and pauses/i,
      /time to payment url/i,
      /callbacks/i,
      /polls/i,
      /results and webhook/i,
      /exceptions and parked/i,
      /redis/i,
    ]) {
      assert.ok(
        rows.some((r) => section.test(r)),
        `a row for ${section}`,
      );
    }
  });
});

describe('Kubernetes manifests', () => {
  const MODELS: Record<string, new (data: never) => { validate(): void }> = {
    'apps/v1/Deployment': Deployment,
    'v1/ConfigMap': ConfigMap,
    'v1/Secret': Secret,
    'v1/Service': Service,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  };
  const dir = join(ROOT, 'deploy/kubernetes');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');

  const objects: any[] = files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], `${f} parses`);
      return d.toJS();
    }),
  );
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name);

  it('every object validates against the Kubernetes schema of its kind', () => {
    assert.ok(objects.length >= 7);
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      assert.ok(Model, `a schema for ${o.apiVersion} ${o.kind}`);
      assert.doesNotThrow(() => new Model(o as never).validate(), `${o.kind} ${o.metadata?.name} is valid`);
    }
    // The validation can fail: a wrong type is refused.
    const broken = structuredClone(find('Deployment', 'invoice-worker-api'));
    broken.spec.replicas = 'two';
    assert.throws(() => new Deployment(broken).validate());
    // kustomization.yaml lists every manifest.
    const kustomization = parse(read('deploy/kubernetes/kustomization.yaml')) as { resources: string[] };
    assert.deepEqual([...kustomization.resources].sort(), [...files].sort());
  });

  it('api and worker: probes on /healthz and /readyz of their port, resources, a grace period above the shutdown budget, the Secret and ConfigMap', () => {
    const config = find('ConfigMap', 'invoice-worker-config');
    const secret = find('Secret', 'invoice-worker-secrets');
    assert.ok(config && secret);
    // Parsed by the service's own configuration: the ConfigMap holds valid values.
    const parsed = loadConfig({ ...config.data, CRYPTOPROCESSING_API_KEY: 'k', CRYPTOPROCESSING_API_SECRET: 's' });
    assert.equal(parsed.sandbox, false, 'no sandbox in a deployment');
    for (const key of ['REDIS_URL', 'API_TOKEN', 'ADMIN_USER', 'ADMIN_PASSWORD', 'METRICS_TOKEN']) assert.ok(key in secret.stringData, `the Secret has ${key}`);
    for (const [name, role, port] of [
      ['invoice-worker-api', 'api', 3000],
      ['invoice-worker-worker', 'worker', 3001],
    ] as const) {
      const d = find('Deployment', name);
      assert.ok(d, name);
      const pod = d.spec.template.spec;
      const [c] = pod.containers;
      assert.deepEqual(c.args, ['node', 'dist/src/main.js', '--role', role]);
      const portName = c.ports.find((p: { containerPort: number }) => p.containerPort === port)?.name;
      assert.ok(portName, `${name} exposes ${port}`);
      assert.equal(c.env.find((e: { name: string }) => e.name === (role === 'api' ? 'PORT' : 'OPS_PORT'))?.value, String(port));
      assert.deepEqual([c.livenessProbe.httpGet.path, c.livenessProbe.httpGet.port], ['/healthz', portName]);
      assert.deepEqual([c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.port], ['/readyz', portName]);
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, `${name}: resources`);
      // The process exits at the latest SHUTDOWN_TIMEOUT_MS + 10 s after SIGTERM (src/main.ts).
      assert.ok(pod.terminationGracePeriodSeconds > parsed.SHUTDOWN_TIMEOUT_MS / 1000 + 10, `${name}: grace period above the shutdown budget`);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      const refs = c.envFrom.map((e: { configMapRef?: { name: string }; secretRef?: { name: string } }) => e.configMapRef?.name ?? e.secretRef?.name);
      assert.deepEqual(refs, ['invoice-worker-config', 'invoice-worker-secrets']);
      // A PodDisruptionBudget selects these pods.
      const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && Object.entries(o.spec.selector.matchLabels).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
      assert.ok(pdb, `${name}: a PodDisruptionBudget`);
    }
    const service = find('Service', 'invoice-worker-api');
    const api = find('Deployment', 'invoice-worker-api');
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(api.spec.template.metadata.labels[k], v, 'the Service selects the api pods');
    assert.equal(service.spec.ports[0].targetPort, 'http');
  });
});

describe('docker compose', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true });
  const text = read('docker-compose.yml');

  it('enables no provider by default: no credential or sandbox URL has a default, and the API refuses to start without API_TOKEN', () => {
    const env = compose.services.api.environment as Record<string, string>;
    const providerVars = Object.keys(env).filter((k) => /^(CRYPTOPROCESSING|ALPHAPO|CRYPTOSTEROID)_/.test(k));
    assert.ok(providerVars.length >= 8);
    for (const k of providerVars) assert.equal(env[k], `\${${k}:-}`, `${k} has no default`);
    assert.doesNotMatch(text, /sandbox-(cp|ap|cs)-/, 'no sandbox credential in the compose file');
    assert.match(env.API_TOKEN ?? '', /^\$\{API_TOKEN:\?/, 'API_TOKEN is required');
    assert.equal(env.SANDBOX, 'off');
    for (const s of ['worker', 'worker-cryptosteroid']) {
      const other = compose.services[s].environment as Record<string, string>;
      for (const k of [...providerVars, 'API_TOKEN', 'SANDBOX']) assert.equal(other[k], env[k], `${s}: ${k} as the api's`);
    }
  });

  it('the sandbox runs only in its own profile, from its own image target', () => {
    assert.deepEqual(compose.services.sandbox.profiles, ['sandbox']);
    assert.equal(compose.services.sandbox.build.target, 'sandbox');
    assert.equal(compose.services.api.build.target, 'runtime');
    assert.notEqual(compose.services.sandbox.image, compose.services.api.image);
    const sandboxEnv = Object.fromEntries(
      read('deploy/compose/sandbox.env')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.equal(sandboxEnv.COMPOSE_PROFILES, 'sandbox');
    assert.ok(loadConfig(sandboxEnv).accounts.length === 3, 'the sandbox env file configures every provider');
  });

  it('Redis: maxmemory from a variable, noeviction, image pinned by digest', () => {
    for (const name of ['redis', 'redis-replica']) {
      const cmd = compose.services[name].command as string[];
      const at = (flag: string) => cmd[cmd.indexOf(flag) + 1];
      assert.match(at('--maxmemory') ?? '', /^\$\{REDIS_MAXMEMORY:-\d+[kmg]b\}$/, `${name}: --maxmemory from REDIS_MAXMEMORY`);
      assert.equal(at('--maxmemory-policy'), 'noeviction', `${name}: never evicts queue keys`);
      assert.match(compose.services[name].image, /@sha256:[0-9a-f]{64}$/, `${name}: image pinned by digest`);
    }
    assert.match(text, /^# +API_TOKEN/m, 'the header names the secrets to set');
    assert.match(text, /^# +ADMIN_USER, ADMIN_PASSWORD/m);
  });
});

describe('the image and the Node baseline', () => {
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const DEV_ONLY = ['typescript', 'tsx', 'esbuild', 'redis-memory-server'];

  it('Dockerfile: every base image pinned by digest, multi-stage, the runtime stage last, non-root, production dependencies, no sandbox', () => {
    const dockerfile = read('Dockerfile');
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1] ?? '';
    assert.match(image, /^node:24[\w.-]*@sha256:[0-9a-f]{64}$/, 'a Node 24 image pinned by digest');
    const froms = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)].map((m) => [m[1], m[2]]);
    assert.ok(froms.length >= 3, 'multi-stage');
    for (const [from] of froms) assert.equal(from, '${NODE_IMAGE}');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    const runtime = stages.at(-1) ?? '';
    assert.match(runtime, /^\S+ AS runtime\n/, 'the last stage (the default build) is the runtime');
    assert.match(runtime, /^USER node$/m);
    assert.match(runtime, /COPY --from=build \/app\/dist-service \.\/dist/, 'the compiled build without the sandbox');
    assert.match(runtime, /CMD \["node", "dist\/src\/main\.js"\]/);
    const deps = stages.find((s) => /^\S+ AS deps\n/.test(s)) ?? '';
    assert.match(deps, /npm ci --omit=dev/);
    assert.match(deps, /rm -rf node_modules\/typescript/);
    assert.match(stages.find((s) => /^\S+ AS build\n/.test(s)) ?? '', /rm -rf dist-service\/src\/sandbox/);
  });

  it('the compiled build the image runs loads, Lua scripts included (they are files beside the modules, which `npm run build` copies)', () => {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
    const lua = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? lua(join(dir, e.name)) : e.name.endsWith('.lua') ? [join(dir, e.name)] : []));
    const sources = lua('src');
    assert.ok(sources.length > 0);
    for (const file of sources) assert.ok(statSync(join(ROOT, 'dist', file)).isFile(), `dist/${file}`);
    // Loading the composition root loads the store, the relay and the breaker, which read their scripts at load.
    const loaded = spawnSync(process.execPath, ['-e', "import('./dist/src/system.js').then(() => console.log('loaded'))"], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.equal(loaded.stdout.trim(), 'loaded');
  });

  it('the development tools are development dependencies; only typescript reaches a production install, as an optional peer the Dockerfile removes', () => {
    for (const name of DEV_ONLY) assert.ok(!(name in pkg.dependencies), `${name} is not a production dependency`);
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
    for (const [path, entry] of Object.entries(lock.packages)) {
      const name = path.replace(/^.*node_modules\//, '');
      if (!(DEV_ONLY.includes(name) || name.startsWith('@esbuild/')) || entry.dev) continue;
      assert.ok(name === 'typescript' && entry.devOptional, `${path} would be installed by npm ci --omit=dev`);
    }
  });

  it('production code loads only production dependencies; the sandbox and the embedded Redis only on demand', () => {
    const files = (dir: string): string[] =>
      readdirSync(join(ROOT, dir)).flatMap((f) => {
        const path = `${dir}/${f}`;
        if (statSync(join(ROOT, path)).isDirectory()) return path === 'src/sandbox' ? [] : files(path);
        return path.endsWith('.ts') ? [path] : [];
      });
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    for (const file of ['src', 'queues', 'workers'].flatMap(files)) {
      for (const m of read(file).matchAll(/^import (?!type )[^;]*? from '([^']+)';/gms)) {
        const spec = m[1] ?? '';
        if (spec.startsWith('.')) {
          assert.ok(!/\/sandbox\//.test(spec), `${file} imports the sandbox statically (${spec})`);
          continue;
        }
        const name = spec.replace(/^node:/, '').startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.replace(/^node:/, '').split('/')[0];
        assert.ok(allowed.has(name ?? ''), `${file} imports ${spec}, which is not a production dependency`);
      }
    }
  });

  it('Node 24 LTS is the baseline: engines >=22, @types/node 24 exact, CI on Node 24 and 26', () => {
    assert.equal(pkg.engines.node, '>=22');
    assert.match(pkg.devDependencies['@types/node'] ?? '', /^24\.\d+\.\d+$/);
    const ci = read('.ci/run');
    assert.match(ci, /^NODE_MAJORS=\(24 26\)$/m);
    assert.doesNotMatch(ci, /machine's Node/, "the machine's own Node is not in the matrix");
    assert.match(read('README.md'), /Node\.js 22 or newer/);
  });
});
