/**
 * The status page (issue 11) at /ui/ (and / redirects there): static files from ui/
 * (index.html, app.js, compare.js, style.css) plus uPlot's browser build from node_modules, read
 * once at start-up and served from memory. The page itself polls GET /v1/status.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const UI_DIR = fileURLToPath(new URL('../../../ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page's files by name: ours from ui/, uPlot's from its package. */
function loadFiles(): Map<string, { body: Buffer; type: string }> {
  const uplot = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  const sources: [string, string][] = [
    ['index.html', join(UI_DIR, 'index.html')],
    ['app.js', join(UI_DIR, 'app.js')],
    ['compare.js', join(UI_DIR, 'compare.js')],
    ['style.css', join(UI_DIR, 'style.css')],
    ['uPlot.iife.min.js', join(uplot, 'uPlot.iife.min.js')],
    ['uPlot.min.css', join(uplot, 'uPlot.min.css')],
  ];
  return new Map(sources.map(([name, path]) => [name, { body: readFileSync(path), type: TYPES[name.slice(name.lastIndexOf('.'))]! }]));
}

/** Registers GET /, /ui and /ui/:file. */
export function registerStatusPage(app: FastifyInstance): void {
  const files = loadFiles();
  const serve = (name: string, reply: FastifyReply) => {
    const file = files.get(name);
    if (!file) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no file /ui/${name}`, details: [] } });
    return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
  };
  app.get('/', async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui', async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', async (_req, reply) => serve('index.html', reply));
  app.get<{ Params: { file: string } }>('/ui/:file', async (req, reply) => serve(req.params.file, reply));
}
