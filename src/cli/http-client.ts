/**
 * The CLI's HTTP client: the server address from `--url` or `DGW_URL` (default
 * http://127.0.0.1:8080, scheme checked), a bearer token from `DGW_TOKEN` (never a flag:
 * flags show in `ps`), JSON in and out, and a dgw error envelope turned into an
 * {@link ApiError} whose message is the server's.
 */

/** Default server address of the CLI. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** A non-2xx answer of the server. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The common `--url` option of client commands. */
export const URL_OPTION = { type: 'string', value: 'URL', description: `dgw server (default $DGW_URL or ${DEFAULT_URL}); a bearer token from $DGW_TOKEN` } as const;

/** A small JSON client bound to one server. */
export class DgwHttpClient {
  readonly base: string;
  private readonly token = process.env.DGW_TOKEN;

  constructor(url: string | undefined) {
    const raw = url ?? process.env.DGW_URL ?? DEFAULT_URL;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`--url: "${raw}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`--url: "${raw}" must start with http:// or https://`);
    this.base = parsed.origin + parsed.pathname.replace(/\/$/, '');
  }

  /** Sends a request; resolves with the parsed JSON body of a 2xx answer. */
  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach ${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(res.status, e?.code ?? String(res.status), e?.message ?? (text.slice(0, 200) || res.statusText));
    }
    return json as T;
  }
}
