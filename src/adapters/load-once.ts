/**
 * Memoises an async loader: the first call starts it, later calls share its promise, and a failed
 * load is retried on the next call. The provider SDKs (AWS SDK, basic-ftp, ssh2, ssh2-sftp-client)
 * load through it on first use, so importing the package never pays for them.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
}
