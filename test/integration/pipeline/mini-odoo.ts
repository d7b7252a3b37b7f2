import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PgServer } from '../../servers/postgres.js';
import { quoteIdent } from '../../servers/postgres.js';
import { ODOO_SETTINGS_SCHEMA } from '../../fixtures/odoo-fixture.js';

/**
 * A small Odoo-shaped database and its filestore, for the pipeline's own tests: res_partner,
 * res_users and ir_attachment rows whose store_fname / checksum (SHA-1) / file_size point at
 * files in a 2-level hashed filestore folder, as Odoo lays them out; `ir_module_module` with base
 * installed at 17.0 (so backups record Odoo's facts), and Odoo's settings tables (mail servers,
 * crons, payment providers, server actions, external ids).
 */
export async function miniOdoo(
  pg: PgServer,
  dbName: string,
  filestoreRoot: string,
  options: { attachments?: number; bigFileBytes?: number } = {},
): Promise<{ filestore: string }> {
  await pg.createDatabase(dbName);
  const db = dbName;
  await pg.query(
    db,
    `CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar NOT NULL, email varchar, is_company boolean DEFAULT false, create_date timestamp DEFAULT now())`,
  );
  await pg.query(
    db,
    `CREATE TABLE res_users (id serial PRIMARY KEY, login varchar UNIQUE NOT NULL, partner_id int REFERENCES res_partner(id), active boolean DEFAULT true)`,
  );
  await pg.query(
    db,
    `CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar, res_model varchar, res_id int, store_fname varchar, checksum varchar(40), file_size int, mimetype varchar)`,
  );
  await pg.query(
    db,
    `CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar, latest_version varchar);
     INSERT INTO ir_module_module (name, state, latest_version) VALUES ('base', 'installed', '17.0.1.3'), ('web', 'installed', '17.0.1.0'), ('mail', 'installed', '17.0.1.15'), ('sale', 'uninstalled', NULL);
     ${ODOO_SETTINGS_SCHEMA}`,
  );
  await pg.query(
    db,
    `INSERT INTO res_partner (name, email, is_company) SELECT 'Partner ' || g, 'p' || g || '@example.com', g % 7 = 0 FROM generate_series(1, 2000) g`,
  );
  await pg.query(db, `INSERT INTO res_users (login, partner_id) SELECT 'user' || g, g FROM generate_series(1, 50) g`);
  const folder = join(filestoreRoot, dbName);
  const n = options.attachments ?? 60;
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const data = i === 0 && options.bigFileBytes ? randomBytes(options.bigFileBytes) : Buffer.from(`attachment ${i} `.repeat(50 + i * 13));
    const sha1 = createHash('sha1').update(data).digest('hex');
    const fname = `${sha1.slice(0, 2)}/${sha1}`;
    mkdirSync(join(folder, sha1.slice(0, 2)), { recursive: true });
    writeFileSync(join(folder, fname), data);
    rows.push(`('file${i}.bin', 'res.partner', ${i + 1}, '${fname}', '${sha1}', ${data.length}, 'application/octet-stream')`);
  }
  await pg.query(
    db,
    `INSERT INTO ir_attachment (name, res_model, res_id, store_fname, checksum, file_size, mimetype) VALUES ${rows.join(',')}`,
  );
  return { filestore: folder };
}

export { quoteIdent };
