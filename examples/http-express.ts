/**
 * The REST API inside an Express 5 app: one middleware in front of your own routes. Mount no
 * body parser before it (the handler reads and limits its own body), and do not mount it under
 * a path (it matches the full URL against its `basePath`).
 */
import express from 'express';
import { toNodeHandler, type BackupApiHandler } from '../src/integrations/http/index.js';

/** An Express app whose `/api/v1/*` requests go to the backup API, and the rest to your routes. */
export function createExpressApp(api: BackupApiHandler, basePath = '/api/v1'): express.Express {
  const app = express();
  const handler = toNodeHandler(api);
  app.use((req, res, next) => {
    if (req.path === basePath || req.path.startsWith(`${basePath}/`)) void handler(req, res);
    else next();
  });
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  return app;
}
