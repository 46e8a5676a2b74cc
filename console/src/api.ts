// The console's only way in: the documented HTTP API, with the signed-in token as a
// bearer. Every failure becomes an `ApiFailure` carrying the API's own message.

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Turns an answer that is not 2xx into an `ApiFailure` from `{error: {code, message}}`. */
async function failure(response: Response): Promise<ApiFailure> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.message) return new ApiFailure(response.status, body.error.code ?? "error", body.error.message);
  } catch {
    // Not the API's shape (a proxy in between, say): show the status and the text.
  }
  return new ApiFailure(response.status, "error", `${response.status} ${response.statusText} ${text}`.trim());
}

export class Api {
  constructor(private readonly token: string) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  async get<T>(path: string): Promise<T> {
    const response = await fetch(path, { headers: this.headers(), cache: "no-store" });
    if (!response.ok) throw await failure(response);
    return (await response.json()) as T;
  }

  /** A request with a JSON body (or none); the JSON answer, or undefined for 204. */
  async send<T = undefined>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: this.headers() };
    if (body !== undefined) {
      init.headers = this.headers({ "content-type": "application/json" });
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (!response.ok) throw await failure(response);
    // 204, and some 201s (a registered household), carry no body.
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Uploads a package file, reporting the share sent (0–1): large packages take a while. */
  upload<T>(path: string, file: Blob, progress: (sent: number) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", path);
      request.setRequestHeader("authorization", `Bearer ${this.token}`);
      request.setRequestHeader("content-type", "application/vnd.hearth.package");
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) progress(event.loaded / event.total);
      };
      request.onload = () => {
        const response = new Response(request.responseText, { status: request.status });
        if (request.status >= 200 && request.status < 300) resolve(JSON.parse(request.responseText) as T);
        else failure(response).then(reject, reject);
      };
      request.onerror = () => reject(new ApiFailure(0, "network", "the server could not be reached"));
      request.send(file);
    });
  }
}

/** A path segment, escaped. */
export const seg = encodeURIComponent;
