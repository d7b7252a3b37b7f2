/**
 * The benches' data: an Odoo-shaped database (res_partner, account_move_line, mail_message,
 * ir_attachment, in the proportions of a real instance) and a filestore laid out as Odoo lays it
 * out (`<db>/<sha1[:2]>/<sha1>`), three quarters incompressible (PDFs and images) and a quarter
 * text. Shared by the pipeline and restore benches, so both time the same backup.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PgServer } from '../test/servers/postgres.js';

/** Fills a new database `db` until `pg_database_size` reaches `bytes`; returns its size. */

export async function buildDatabase(pg: PgServer, db: string, bytes: number): Promise<number> {
  await pg.createDatabase(db);
  const q = (sql: string) => pg.query(db, sql);
  await q(
    `CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar, email varchar, street varchar, city varchar, zip varchar, phone varchar, comment text, is_company boolean, create_date timestamp)`,
  );
  await q(
    `CREATE TABLE mail_message (id serial PRIMARY KEY, model varchar, res_id int, message_type varchar, subject varchar, body text, author_id int, date timestamp)`,
  );
  await q(
    `CREATE TABLE account_move_line (id serial PRIMARY KEY, move_id int, account_id int, partner_id int, name varchar, debit numeric(16,2), credit numeric(16,2), balance numeric(16,2), date date, ref varchar)`,
  );
  await q(
    `CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar, res_model varchar, res_id int, store_fname varchar, checksum varchar(40), file_size int, mimetype varchar)`,
  );
  // Sizes are per row on disk, roughly: mail_message ~1.2 KB (html bodies, 70% of the data),
  // account_move_line ~200 B (20%), res_partner ~400 B (10%).
  const batches = async (table: string, rows: number, insert: (from: number, to: number) => string) => {
    const step = 200_000;
    for (let from = 1; from <= rows; from += step) await q(insert(from, Math.min(rows, from + step - 1)));
    void table;
  };
  const partners = Math.max(1000, Math.round((bytes * 0.1) / 400));
  await batches(
    'res_partner',
    partners,
    (a, b) =>
      `INSERT INTO res_partner (name, email, street, city, zip, phone, comment, is_company, create_date)
     SELECT 'Partner ' || g || ' ' || substr(md5(g::text), 1, 8), 'contact' || g || '@example.' || (ARRAY['com','be','fr','de'])[1 + g % 4],
            g || ' ' || (ARRAY['Rue de la Loi','Main Street','Avenue Louise','Hauptstrasse'])[1 + g % 4], (ARRAY['Brussels','Paris','Berlin','Ghent','Lyon'])[1 + g % 5],
            lpad((g % 9999)::text, 4, '0'), '+32 2 ' || lpad((g % 999999)::text, 6, '0'),
            CASE WHEN g % 3 = 0 THEN repeat('Preferred customer. ', 1 + g % 5) || md5(g::text) ELSE NULL END, g % 7 = 0, now() - (g || ' minutes')::interval
     FROM generate_series(${a}, ${b}) g`,
  );
  const lines = Math.round((bytes * 0.2) / 200);
  await batches(
    'account_move_line',
    lines,
    (a, b) =>
      `INSERT INTO account_move_line (move_id, account_id, partner_id, name, debit, credit, balance, date, ref)
     SELECT g / 4, 100 + g % 60, 1 + g % ${partners}, 'INV/2025/' || lpad((g / 4)::text, 6, '0') || ' line ' || g % 4,
            CASE WHEN g % 2 = 0 THEN (g % 100000) / 100.0 ELSE 0 END, CASE WHEN g % 2 = 1 THEN (g % 100000) / 100.0 ELSE 0 END,
            ((g % 200000) - 100000) / 100.0, date '2025-01-01' + g % 365, 'REF' || substr(md5(g::text), 1, 10)
     FROM generate_series(${a}, ${b}) g`,
  );
  const messageSql = (a: number, b: number) =>
    `INSERT INTO mail_message (model, res_id, message_type, subject, body, author_id, date)
     SELECT (ARRAY['sale.order','account.move','res.partner','project.task'])[1 + g % 4], g % 50000, (ARRAY['comment','notification','email'])[1 + g % 3],
            'Re: order ' || g, '<p>' || repeat('Hello, please find the updated quotation attached. ', 1 + g % 8) || '</p><p>' || md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) || '</p>' ||
            repeat(substr(md5((g * 31)::text), 1, 16) || ' ', 10 + g % 30), 1 + g % ${partners}, now() - (g || ' seconds')::interval
     FROM generate_series(${a}, ${b}) g`;
  let messages = Math.round((bytes * 0.7) / 1200);
  await batches('mail_message', messages, messageSql);
  const size = async () => Number((await pg.query<{ n: string }>(db, 'SELECT pg_database_size(current_database())::text AS n'))[0]!.n);
  // Row sizes are estimates: top up with messages until the database really has the target size.
  for (let current = await size(); current < bytes; current = await size()) {
    const more = Math.max(10_000, Math.min(200_000, Math.ceil((bytes - current) / 1000)));
    await q(messageSql(messages + 1, messages + more));
    messages += more;
  }
  await q('VACUUM ANALYZE');
  return size();
}

/** Writes `files` attachments of `bytes` in all under `root/db`, each with its ir_attachment row. */
export async function buildFilestore(
  pg: PgServer,
  db: string,
  root: string,
  bytes: number,
  files: number,
): Promise<{ folder: string; bytes: number; files: number }> {
  const folder = join(root, db);
  const avg = bytes / files;
  let total = 0;
  const rows: string[] = [];
  const flush = async () => {
    if (rows.length)
      await pg.query(
        db,
        `INSERT INTO ir_attachment (name, res_model, res_id, store_fname, checksum, file_size, mimetype) VALUES ${rows.join(',')}`,
      );
    rows.length = 0;
  };
  // Attachments are mostly PDFs and images (already compressed: random bytes stand for them),
  // a quarter is text-like (compressible).
  const text = Buffer.from('Invoice line, quantity 1, unit price 100.00 EUR, tax 21%.\n'.repeat(4096));
  for (let i = 0; i < files; i++) {
    const size = Math.max(512, Math.round(avg * (0.2 + ((i * 7919) % 1000) / 625)));
    const data =
      i % 4 === 0
        ? Buffer.concat([text.subarray(0, Math.min(size, text.length)), randomBytes(Math.max(0, size - text.length))]).subarray(0, size)
        : randomBytes(size);
    const sha1 = createHash('sha1').update(data).digest('hex');
    const dir = join(folder, sha1.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    await writeFile(join(dir, sha1), data);
    total += size;
    rows.push(
      `('doc${i}.pdf', 'account.move', ${i + 1}, '${sha1.slice(0, 2)}/${sha1}', '${sha1}', ${size}, '${i % 4 === 0 ? 'text/plain' : 'application/pdf'}')`,
    );
    if (rows.length >= 1000) await flush();
  }
  await flush();
  return { folder, bytes: total, files };
}
