/** Comms from cell code: open a channel to a frontend target, or serve targets the frontend opens. */
import { ConfigError } from '../errors';
import {
  getKernelBridge,
  type Comm,
  type CommSendOptions,
  type CommTargetHandler,
  type JsonObject,
} from './bridge';

function bridge() {
  const b = getKernelBridge();
  if (!b) throw new ConfigError('comms need a running efflab kernel');
  return b;
}

/** Opens a comm to `targetName` in the frontend, sending `data` with the open message. */
export function openComm(targetName: string, data: JsonObject = {}, options?: CommSendOptions): Comm {
  return bridge().openComm(targetName, data, options);
}

/** Serves comms the frontend opens on `targetName`; returns a function that stops serving. */
export function registerCommTarget(targetName: string, handler: CommTargetHandler): () => void {
  return bridge().registerCommTarget(targetName, handler);
}
