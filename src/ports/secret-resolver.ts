/** Which credential a {@link SecretResolver} is asked for. */
export interface SecretScope {
  organization_id: string;
  storage_config_id: string;
  /** The credential's name in the config (`secret_access_key`, `password`, `private_key`...). */
  field: string;
}

/**
 * The host's secret store (Vault, AWS Secrets Manager, a KMS-sealed table...). A storage config's
 * credential may be `{ ref: '...' }` instead of its value; the SDK asks this port for the value
 * just before it builds the provider, and keeps it only in memory: the resolved value is never
 * stored, logged, put in an error or an event.
 *
 * Return the value as a string. A throw fails the operation with `E_SECRET_REF` (transient: a
 * retry asks again); the thrown message is not repeated, since it may quote what it read.
 */
export interface SecretResolver {
  /** The value `ref` stands for. */
  resolve(ref: string, scope: SecretScope): Promise<string> | string;
}
