/**
 * A reference page for the OpenAPI document, rendered here as plain HTML: no script, no CDN, no
 * font or stylesheet from elsewhere, so it reads the same on a machine without internet access.
 * Every operation with its parameters, body and answers, then every schema, linked by anchor.
 */
import type { JsonSchema } from './openapi-kit.ts';
import type { OpenApiDocument } from './openapi.ts';

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** The little markdown the document's texts use: paragraphs, `code` and **bold**. */
function md(text: unknown): string {
  if (typeof text !== 'string' || !text) return '';
  return text
    .split(/\n{2,}/)
    .map(
      (p) =>
        `<p>${escapeHtml(p)
          .replace(/`([^`]+)`/g, '<code>$1</code>')
          .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')}</p>`,
    )
    .join('');
}

/** {@link md} without paragraphs. */
const inline = (text: unknown): string =>
  md(text)
    .replace(/<\/?p>/g, ' ')
    .trim();

const refName = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1);
const schemaLink = (name: string): string => `<a href="#schema-${escapeHtml(name)}"><code>${escapeHtml(name)}</code></a>`;

function typeLabel(s: JsonSchema | undefined): string {
  if (!s) return 'any';
  if (typeof s.$ref === 'string') return schemaLink(refName(s.$ref));
  if (s.const !== undefined) return `<code>${escapeHtml(JSON.stringify(s.const))}</code>`;
  if (Array.isArray(s.enum)) return s.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(' | ');
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (union) return union.every((b) => b.type === 'object') ? 'one of these objects' : union.map(typeLabel).join(' | ');
  if (s.type === 'array') return `array of ${typeLabel(s.items as JsonSchema | undefined)}`;
  if (Array.isArray(s.type)) return s.type.map(String).join(' | ');
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
    return `map of ${typeLabel(s.additionalProperties as JsonSchema)}`;
  }
  return typeof s.type === 'string' ? s.type : 'any';
}

function constraints(s: JsonSchema): string {
  const parts: string[] = [];
  const add = (label: string, v: unknown) => v !== undefined && parts.push(`${label} ${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}`);
  add('format', s.format);
  add('min length', s.minLength);
  add('max length', s.maxLength);
  add('≥', s.minimum);
  if (typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER) add('≤', s.maximum);
  add('min items', s.minItems);
  add('max items', s.maxItems);
  add('default', s.default);
  // Long generated patterns (dates, e-mail) say no more than their format.
  if (typeof s.pattern === 'string' && (s.format === undefined || s.pattern.length < 60)) parts.push(`pattern <code>${escapeHtml(s.pattern)}</code>`);
  return parts.join(', ');
}

/** The object's (or each union branch's) properties as a table; nested objects inline, a few levels deep. */
function schemaBody(s: JsonSchema | undefined, depth = 0): string {
  if (!s || depth > 4) return '';
  if (typeof s.$ref === 'string') return `<p>${schemaLink(refName(s.$ref))}</p>`;
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (union) {
    return `<div class="union"><p>one of:</p><ol>${union.map((b) => `<li>${b.properties ? schemaBody(b, depth + 1) : typeLabel(b)}</li>`).join('')}</ol></div>`;
  }
  if (s.type === 'array' && s.items && !(s.items as JsonSchema).$ref && (s.items as JsonSchema).properties) {
    return `<p>array of:</p>${schemaBody(s.items as JsonSchema, depth + 1)}`;
  }
  const props = s.properties as Record<string, JsonSchema> | undefined;
  if (!props) {
    const c = constraints(s);
    return `<p>${typeLabel(s)}${c ? ` (${c})` : ''}</p>`;
  }
  const required = new Set((s.required as string[] | undefined) ?? []);
  const rows = Object.entries(props).map(([name, p]) => {
    const nested = p.properties || (p.anyOf ?? p.oneOf) || (p.type === 'array' && (p.items as JsonSchema | undefined)?.properties) ? schemaBody(p, depth + 1) : '';
    const c = constraints(p);
    return (
      `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''}</td>` +
      `<td>${typeLabel(p)}${c ? `<div class="c">${c}</div>` : ''}</td><td>${md(p.description)}${nested}</td></tr>`
    );
  });
  const closed = s.additionalProperties === false ? '<p class="c">no other fields</p>' : '';
  return `<table><thead><tr><th>field</th><th>type</th><th>meaning</th></tr></thead><tbody>${rows.join('')}</tbody></table>${closed}`;
}

/** A `$ref` to a component: the component itself (its fields are shown in place). */
function resolve(s: JsonSchema | undefined, schemas: Record<string, JsonSchema>): JsonSchema | undefined {
  return typeof s?.$ref === 'string' ? (schemas[refName(s.$ref)] ?? s) : s;
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string; schema?: JsonSchema }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema; example?: unknown }> };
  responses?: Record<string, { description?: string; headers?: Record<string, { description?: string }>; content?: Record<string, { schema?: JsonSchema }> }>;
}

function operation(method: string, path: string, op: Operation, schemas: Record<string, JsonSchema>): string {
  const id = escapeHtml(op.operationId ?? `${method}-${path}`);
  const params = op.parameters?.length
    ? `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th><th>meaning</th></tr></thead><tbody>${op.parameters
        .map((p) => {
          const c = p.schema ? constraints(p.schema) : '';
          return `<tr><td><code>${escapeHtml(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ''}</td><td>${escapeHtml(p.in)}</td><td>${typeLabel(p.schema)}${c ? `<div class="c">${c}</div>` : ''}</td><td>${md(p.description)}</td></tr>`;
        })
        .join('')}</tbody></table>`
    : '';
  const bodyContent = op.requestBody?.content?.['application/json'];
  const body = bodyContent
    ? `<h4>Body${op.requestBody?.required ? '' : ' (optional)'}: <code>application/json</code>, ${typeLabel(bodyContent.schema)}</h4>${schemaBody(resolve(bodyContent.schema, schemas))}` +
      (bodyContent.example ? `<details><summary>example</summary><pre>${escapeHtml(JSON.stringify(bodyContent.example, null, 2))}</pre></details>` : '')
    : '';
  const answers = Object.entries(op.responses ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, r]) => {
      const headers = Object.entries(r.headers ?? {})
        .map(([h, v]) => `<div class="c">header <code>${escapeHtml(h)}</code>: ${inline(v.description)}</div>`)
        .join('');
      const schema = r.content?.['application/json']?.schema;
      return `<tr><td><strong>${escapeHtml(status)}</strong></td><td>${md(r.description)}${headers}</td><td>${schema ? typeLabel(schema) : ''}</td></tr>`;
    })
    .join('');
  return (
    `<section class="op" id="${id}"><h3><span class="m ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>` +
    `<p><strong>${escapeHtml(op.summary ?? '')}</strong></p>${md(op.description)}${params}${body}` +
    `<h4>Answers</h4><table><thead><tr><th>status</th><th>when</th><th>body</th></tr></thead><tbody>${answers}</tbody></table></section>`
  );
}

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{max-width:1100px;margin:0 auto;padding:24px}
nav{background:#fff;border:1px solid #e2e5ea;border-radius:6px;padding:8px 16px}
nav li{margin:2px 0}
section.op,section.schema{background:#fff;border:1px solid #e2e5ea;border-radius:6px;padding:8px 18px;margin:18px 0}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-top:1px solid #eceef1;text-align:left;vertical-align:top;padding:5px 8px}
th{font-weight:600;font-size:13px;color:#5a6270}
code,pre{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f2f4f7;border-radius:3px;padding:0 3px}
pre{padding:8px;overflow:auto}
.m{display:inline-block;min-width:52px;text-align:center;color:#fff;border-radius:4px;font-size:13px;padding:1px 6px}
.m.get{background:#1f6feb}.m.post{background:#1a7f37}
.req{color:#b42318;font-size:12px}
.c{color:#5a6270;font-size:13px}
td table{font-size:14px}
td>p:first-child{margin-top:0}td>p:last-child{margin-bottom:0}
`;

/** The whole page. */
export function renderReference(doc: OpenApiDocument): string {
  const info = (doc.info ?? {}) as { title?: string; version?: string; description?: string };
  const ops: Array<[string, string, Operation]> = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) ops.push([method, path, op as Operation]);
  }
  const schemas = (doc.components as { schemas?: Record<string, JsonSchema> } | undefined)?.schemas ?? {};
  const toc = ops
    .map(
      ([m, p, op]) =>
        `<li><a href="#${escapeHtml(op.operationId ?? '')}"><span class="m ${escapeHtml(m)}">${escapeHtml(m.toUpperCase())}</span> <code>${escapeHtml(p)}</code></a> ${escapeHtml(op.summary ?? '')}</li>`,
    )
    .join('');
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(info.title ?? 'API')} — reference</title><style>${STYLE}</style></head><body><main>` +
    `<h1>${escapeHtml(info.title ?? 'API')} <small class="c">v${escapeHtml(info.version ?? '')}</small></h1>${md(info.description)}` +
    `<p>The machine-readable document: <a href="openapi.json"><code>/openapi.json</code></a> (OpenAPI ${escapeHtml(String(doc.openapi ?? ''))}).</p>` +
    `<nav><h2>Operations</h2><ul>${toc}</ul></nav>` +
    ops.map(([m, p, op]) => operation(m, p, op, schemas)).join('') +
    `<h2>Schemas</h2>` +
    Object.entries(schemas)
      .map(([name, s]) => `<section class="schema" id="schema-${escapeHtml(name)}"><h3><code>${escapeHtml(name)}</code></h3>${md(s.description)}${schemaBody(s)}</section>`)
      .join('') +
    `</main></body></html>`
  );
}
