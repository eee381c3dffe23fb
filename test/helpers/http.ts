// Test harness: a static HTTP server on 127.0.0.1 (a free port chosen by the kernel) serving directories, logging requests.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";

export interface StaticServer {
  /** http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string;
  /** Every request as "METHOD /path STATUS". */
  readonly log: string[];
  close(): Promise<void>;
}

/** Serve `mounts` (URL prefix such as "/feed/" -> directory) on 127.0.0.1 only, on a free port. */
export async function serveDirectories(mounts: Readonly<Record<string, string>>): Promise<StaticServer> {
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    const done = (status: number) => {
      log.push(`${req.method} ${req.url} ${status}`);
      res.statusCode = status;
    };
    void (async () => {
      const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
      const prefix = Object.keys(mounts).find((p) => path.startsWith(p));
      const rest = prefix === undefined ? "" : normalize(path.slice(prefix.length));
      if (
        prefix === undefined ||
        rest.startsWith("..") ||
        rest.includes("/") ||
        rest === "" ||
        rest === "."
      ) {
        done(404);
        res.end();
        return;
      }
      const file = join(mounts[prefix]!, rest);
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile() || (req.method !== "GET" && req.method !== "HEAD")) {
        done(st ? 405 : 404);
        res.end();
        return;
      }
      done(200);
      res.setHeader("Content-Length", String(st.size));
      res.setHeader("Content-Type", "application/octet-stream");
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
