/** The connection file Jupyter writes for a kernel: ports, transport, signing key. */
import { readFileSync } from 'node:fs';

/** Parsed connection file. */
export interface ConnectionInfo {
  transport: string;
  ip: string;
  shell_port: number;
  control_port: number;
  iopub_port: number;
  stdin_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
}

const PORTS = ['shell_port', 'control_port', 'iopub_port', 'stdin_port', 'hb_port'] as const;

/** Reads and validates a connection file; throws with a clear message when a field is missing. */
export function readConnectionFile(path: string): ConnectionInfo {
  const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof raw !== 'object' || raw === null) throw new Error(`${path}: not a JSON object`);
  const obj = raw as Record<string, unknown>;
  for (const port of PORTS) {
    if (typeof obj[port] !== 'number') throw new Error(`${path}: ${port} missing or not a number`);
  }
  return {
    transport: typeof obj.transport === 'string' ? obj.transport : 'tcp',
    ip: typeof obj.ip === 'string' ? obj.ip : '127.0.0.1',
    shell_port: obj.shell_port as number,
    control_port: obj.control_port as number,
    iopub_port: obj.iopub_port as number,
    stdin_port: obj.stdin_port as number,
    hb_port: obj.hb_port as number,
    key: typeof obj.key === 'string' ? obj.key : '',
    signature_scheme: typeof obj.signature_scheme === 'string' ? obj.signature_scheme : 'hmac-sha256',
  };
}

/** The ZeroMQ address of one channel. */
export function address(info: ConnectionInfo, port: number): string {
  return info.transport === 'ipc' ? `ipc://${info.ip}-${port}` : `${info.transport}://${info.ip}:${port}`;
}
