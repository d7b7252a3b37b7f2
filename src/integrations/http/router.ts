import { BackupSdkError } from '../../errors/backup-sdk-error.js';

/** One route: a method and a path template whose `{name}` segments are parameters. */
export interface RouteDefinition<H> {
  method: string;
  /** Below the base path, e.g. `/backups/{backup_id}/download`. */
  path: string;
  handler: H;
}

/** A matched route with its decoded path parameters. */
export interface RouteMatch<H> {
  route: RouteDefinition<H>;
  params: Record<string, string>;
}

const segmentsOf = (path: string) => path.split('/').filter((s) => s !== '');
const isParam = (segment: string) => segment.startsWith('{') && segment.endsWith('}');

/**
 * Finds the route of a path: literal segments win over parameters (so `/backups/storage-configs`
 * is never read as a backup id), compared from the left. Throws `E_ROUTE_NOT_FOUND` when no
 * template fits the path, `E_METHOD_NOT_ALLOWED` (with `details.allow`) when the best-fitting
 * template has no route of that method.
 */
export function matchRoute<H>(routes: readonly RouteDefinition<H>[], method: string, path: string): RouteMatch<H> {
  const actual = segmentsOf(path);
  let best: { template: string; rank: string; params: Record<string, string> } | null = null;
  for (const route of routes) {
    const template = segmentsOf(route.path);
    if (template.length !== actual.length) continue;
    const params: Record<string, string> = {};
    let rank = '';
    let fits = true;
    for (const [i, segment] of template.entries()) {
      const value = actual[i]!;
      if (isParam(segment)) {
        try {
          params[segment.slice(1, -1)] = decodeURIComponent(value);
        } catch {
          fits = false;
          break;
        }
        rank += '0';
      } else if (segment === value) {
        rank += '1';
      } else {
        fits = false;
        break;
      }
    }
    if (fits && (best === null || rank > best.rank)) best = { template: route.path, rank, params };
  }
  if (!best) throw new BackupSdkError('E_ROUTE_NOT_FOUND', `No route for ${method} ${path}`, { details: { method, path } });
  const sameTemplate = routes.filter((r) => r.path === best.template);
  const route = sameTemplate.find((r) => r.method === method);
  if (!route) {
    const allow = sameTemplate.map((r) => r.method);
    throw new BackupSdkError('E_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allow.join(', ')}`, {
      details: { method, path, allow },
    });
  }
  return { route, params: best.params };
}
