export interface StaticServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}
export function startServer(opts?: { root?: string; port?: number; mounts?: Record<string, string>; log?: boolean }): Promise<StaticServer>;
