import type { Backup } from '../domain/entities.js';

/** A message for people: backup or restore succeeded or failed, quota warning. For restores, `backup` is the backup restored. */
export interface Notification {
  kind: 'backup.succeeded' | 'backup.failed' | 'quota.warning' | 'restore.succeeded' | 'restore.failed';
  environment_id: string;
  organization_id: string;
  backup: Backup | null;
  /** One line a person can read. */
  message: string;
}

/** Sends notifications (email, chat...). The host implements it. */
export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

/** A notifier that drops everything. */
export const nullNotifier: Notifier = { notify: async () => undefined };
