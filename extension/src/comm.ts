import type { Kernel } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';

/**
 * How a renderer finds the kernel of the notebook it lives in, once the notebook's session is ready
 * (after a page reload outputs render before the kernel is connected). Null outside notebooks or with no kernel.
 */
export type KernelGetter = () => Promise<Kernel.IKernelConnection | null>;

/** An open frontend → kernel comm with typed callbacks. */
export interface CommLink {
  send(data: object): void;
  close(): void;
}

/**
 * Opens a comm to a kernel-side target. `onMessage` receives each message's data, `onClose` fires when the
 * kernel closes the comm or has no such target. Returns null when there is no kernel to talk to.
 */
export async function openComm(
  kernel: KernelGetter,
  target: string,
  openData: object,
  onMessage: (data: unknown) => void,
  onClose: () => void,
): Promise<CommLink | null> {
  const k = await kernel();
  if (!k || k.isDisposed) return null;
  let comm: Kernel.IComm;
  try {
    comm = k.createComm(target);
  } catch {
    return null;
  }
  comm.onMsg = (msg) => onMessage(msg.content.data);
  comm.onClose = () => onClose();
  comm.open(openData as JSONObject);
  return {
    send: (data) => {
      if (!comm.isDisposed) comm.send(data as JSONObject);
    },
    close: () => {
      if (!comm.isDisposed) comm.close();
    },
  };
}
